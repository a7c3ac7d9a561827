"""What every process of the product shares at run time, below the faces and the workers alike:
how it logs (:mod:`runtime.log_setup`), how it reaches Temporal (:mod:`runtime.connection`), how
payloads are sealed (:mod:`runtime.encryption`), which keys the workers can read
(:mod:`runtime.payload_readers`) and whether it traces (:mod:`runtime.tracing`, with
:mod:`runtime.trace_export`, loaded only when tracing is on). The web form and the command line
load this and nothing of the workers', workflows' or activities'; nothing here imports them."""
