"""Corrections of moto where it contradicts AWS, for what the collection manages (VPC, EKS, RDS, ElastiCache, CloudWatch Logs).

moto 5.2 is the sandbox's AWS. Where it answers otherwise than the real service, code that is right for AWS fails in
the sandbox (or code that is wrong for AWS passes), so the sandbox corrects moto rather than the collection bending to
it. ``apply()`` patches moto's backend models and response handlers in this process, before its server starts; every
correction is a function of motofix.ec2, motofix.eks, motofix.rds, motofix.elasticache or motofix.logs whose docstring names the AWS
behaviour it restores. ``python -m motofix -H HOST -p PORT`` applies them and runs moto's server as ``moto_server``
would (sandbox/ctl.py starts it so, with MOTO_IAM_LOAD_MANAGED_POLICIES=true: AWS's managed IAM policies, such as
AmazonEKSClusterPolicy, exist in every account).

The server also answers /_sandbox/pending (motofix.pending, client motofix.control.MotoFix): delays after which
created, modified or deleted resources leave their pending state, so that waits are exercised. Default: none.
"""

# AWS's managed policies (arn:aws:iam::aws:policy/...) exist in every account; moto loads them only when told to.
MANAGED_POLICIES_ENV = "MOTO_IAM_LOAD_MANAGED_POLICIES"
_APPLIED = []


def corrections():
    """Every correction, by module, in the order apply() makes them (importing moto: motofix.control does not)."""
    from . import ec2, eks, elasticache, logs, rds  # pylint: disable=import-outside-toplevel

    return [correction for module in (ec2, eks, rds, elasticache, logs) for correction in module.CORRECTIONS]


def apply():
    """Make every correction and install the pending control; a second call does nothing."""
    if _APPLIED:
        return
    from . import pending  # pylint: disable=import-outside-toplevel

    for correction in corrections():
        correction()
    pending.install()
    _APPLIED.append(True)
