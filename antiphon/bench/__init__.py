"""antiphon.bench"""
