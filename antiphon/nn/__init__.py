"""antiphon.nn"""
