"""Reading sweep results, selecting the learning rate the zero-shot way, tables and plots."""
