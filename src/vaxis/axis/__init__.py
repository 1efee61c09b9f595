"""The V-axis: hidden states of language models and the valence direction found in them."""
