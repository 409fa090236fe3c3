"""antiphon.server"""
