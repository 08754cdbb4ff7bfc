"""Policy answers: the passages of both policies, their lexical and dense indexes, the one
answer ranker's scoring, and what the response generator needs to say a chosen answer."""
