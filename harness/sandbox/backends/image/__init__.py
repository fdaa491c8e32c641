"""Building the sandbox root filesystem / docker image for the gvisor and docker backends."""
