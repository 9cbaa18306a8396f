"""The web process's side of video generation: the queue it speaks to workers over Redis
(`queue`), the plugin that follows them and settles ended jobs (`collector`), starting worker
processes from the configuration (`workers`) and which prompts this node renders (`prompt_policy`).
Jobs themselves are created and settled by node.services.generation; the web process never
imports the worker's code, only its dependency-free contract (generation.contract)."""
