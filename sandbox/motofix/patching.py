"""How a correction replaces one of moto's methods or attributes, keeping the original at hand."""

import functools


def wrap(owner, name):
    """Decorator: ``owner.name`` becomes the decorated function, called with moto's original first.

      @wrap(EKSBackend, "create_nodegroup")
      def create_nodegroup(original, self, *args, **kwargs):
          nodegroup = original(self, *args, **kwargs)
          ...
    """
    original = getattr(owner, name)

    def decorator(function):
        @functools.wraps(original)
        def replacement(*args, **kwargs):
            return function(original, *args, **kwargs)

        replacement.motofix_original = original
        setattr(owner, name, replacement)
        return function

    return decorator


def add(owner, name):
    """Decorator: ``owner.name`` becomes the decorated function (a method moto lacks, or a property)."""

    def decorator(function):
        setattr(owner, name, function)
        return function

    return decorator
