"""What every process of the product shares at run time, below the faces and the workers alike:
how it logs (:mod:`runtime.log_setup`). The command line, as a client of the service, loads
this and nothing of the workers'."""
