"""plumb's kinds: one module per AWS kind, each registering itself with
`controller.kinds.registry` (`@register`, `@expander`, `@semantic_check`, `@guardrail`).

The registry imports every module of this package on first use; a module whose name starts
with "_" holds what several kinds of one service share. A kind imports only the kind API
(controller/kinds/, controller/aws/context.py and the shared values), never the engine.
"""
