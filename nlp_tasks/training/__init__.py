"""Training: the multi-task corpus reader, config generation, evaluation on the
dev sets, adding a task to a trained pipeline, and the gold-example and scoring
helpers plugins share.
"""
