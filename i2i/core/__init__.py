"""The core every layer builds on: errors, the registry, plugin loading, hooks, the component and task interfaces."""
