"""The sandbox's AWS front: a plain-HTTP proxy on 127.0.0.1 in front of moto.

Every AWS client of the sandbox (boto3, the amazon.aws modules, the collection's own modules) reaches
moto through it. It forwards requests unchanged, counts them by operation, injects the faults the
tests ask for through its /_sandbox endpoint (s3front.control is the client), and answers the few
requests where moto accepts what AWS refuses the way AWS does (see s3front.proxy).
"""
