"""The domain's side of a running process: the run context handlers and diagram code act through
(`run_context`), work items as staff see them (`tasks`: 待办, 认领, 办理; `task_forms`), start/撤单/重启/合并 (`lifecycle`),
挂起/恢复/终止 (`administration`), deploying and migrating versions (`process_versions`) and 流程异常, failed
steps an administrator retries (`incidents`)."""
