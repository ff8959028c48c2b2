"""Training: the multi-task corpus reader, config generation, evaluation on the
dev sets, and adding a task to a trained pipeline.
"""
