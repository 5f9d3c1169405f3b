"""The domain's side of a running process: the run context handlers and diagram code act through
(`run_context`), work items as staff see them (`tasks`: 待办, 认领, 办理), 挂起/恢复/终止 (`administration`)
and failed steps (`incidents`)."""
