"""Experiments: the code that runs an algorithm against an oracle (a claim instance, a figure,
the calibration, the fault campaign, the audit's end-to-end run). Theory and reports never run
anything; properties decide verdicts from what experiments observe (docs/ARCHITECTURE.md)."""
