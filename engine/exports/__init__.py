"""Exports: PDF (`pdf`) and Excel (`spreadsheets`) writers for the circular and reports."""
