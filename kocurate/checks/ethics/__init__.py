"""Ethics pre-flagging: a shipped lexicon (``lexicon.py``) and a trainable classifier
(``classifier.py``)."""
