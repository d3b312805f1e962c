"""Figures and published reports, counts only; never imports Flask, app or what decrypts."""
