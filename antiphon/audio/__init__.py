"""antiphon.audio"""
