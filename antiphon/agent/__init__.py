"""antiphon.agent"""
