"""`antiphon bench quality`: answer accuracy, tool calls and recognition on voices other than
the agent's (issue 14). See docs/bench-quality.md."""
