"""Video generation for worker processes: diffusers pipelines behind an arq job.

Entry points: `generation.worker` (the arq worker), `generation.contract` (its queue names and job
dict, shared with the web process), `generation.render` (specs to MP4 + poster),
`generation.registry` (model loading and tuning), `generation.spec` (the plain dataclasses that
cross process boundaries). torch and diffusers are imported lazily, inside functions, so importing
this package is cheap. The web process imports only `generation.contract` (standard library only),
so this file imports nothing.
"""
