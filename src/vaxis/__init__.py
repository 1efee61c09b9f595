"""vaxis: a shared valence axis across language models and human EEG.

Reproduces and extends "A Shared Valence Axis Across Modern LLMs and Human EEG:
The Saturation Regularity" (arXiv:2606.00129).
"""

__version__ = "0.1.0"
