"""The char model on Python source (`charmodel`), the Kneser–Ney baseline it is compared
with (`ngram`) and the concepts its units are ranked by (`concepts`)."""
