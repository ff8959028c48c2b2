"""What every pipeline is built of: the shared transformer backbone, the base of
the task heads that listen to it, and the optimizer policy that updates its
PyTorch weights in place.
"""
