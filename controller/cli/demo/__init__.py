"""`plumb demo`: the whole GitOps loop on an embedded AWS endpoint, in a temporary folder.

Kept outside the engine because it pokes AWS directly (the out-of-band changes a person
would make in the console), which is exactly what `controller/` must never do by kind.
"""
