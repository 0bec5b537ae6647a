"""`full`: every parameter trains. With a tuned LR and intermediate tuning, the study's strongest
simple baseline."""
from xlsearch.methods.base import AdaptationMethod


class Full(AdaptationMethod):
    name = "full"
    description = "all parameters trained"
