"""antiphon.cascade"""
