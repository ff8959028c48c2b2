"""What every pipeline is built of: the shared transformer backbone, what the task
heads that listen to it rely on (the listener config, and the rule that the
backbone learns from every batch), the optimizer policy that updates PyTorch
weights in place, the ``Doc`` extensions plugins share, and the one adapter to
thinc's and spacy-transformers' internals.
"""
