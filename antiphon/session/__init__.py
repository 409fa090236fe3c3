"""antiphon.session"""
