"""Landscapes with certified constants and Δ-inexact gradient oracles."""
