"""antiphon: real-time full-duplex speech-to-speech dialogue engine."""

__version__ = "0.1.0"
