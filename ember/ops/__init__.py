"""The op registry.  Importing this package defines every primitive (one file per family)."""
from .registry import REGISTRY, Meta, Primitive, ShapeError, define  # noqa: F401
from . import (elementwise, reduce, movement, linalg, index, source,  # noqa: F401
               linalg_decomp, special, ctc, complex, fft)
from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .movement import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .source import *  # noqa: F401,F403
from . import elementwise_extra  # noqa: F401,E402
from .elementwise_extra import *  # noqa: F401,F403,E402
from .conv import (CONV, CONV_TRANSPOSE, CONV_WEIGHT, MAX_POOL_INDICES,  # noqa: F401,E402
                   POOL_GATHER, POOL_SCATTER)
from .ctc import CTC_LOSS, CTC_LOSS_GRAD  # noqa: F401,E402
