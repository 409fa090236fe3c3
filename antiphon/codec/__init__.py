"""antiphon.codec"""
