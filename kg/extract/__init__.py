"""Extraction: the spaCy pipeline (rules, phrase matchers, gazetteers) and its mentions."""
