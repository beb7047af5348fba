"""ember.nn.functional: the same names as torch.nn.functional, one file per family."""
from ...frontend.functional import sigmoid, tanh  # noqa: F401
from .activation import *  # noqa: F401,F403
from .activation import _get_softmax_dim  # noqa: F401
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
# families of other engineers (conv, pooling, attention, sampling) add their import lines below
from .conv import *  # noqa: F401,F403,E402
from .pooling import *  # noqa: F401,F403,E402
from .sampling import *  # noqa: F401,F403,E402
from .attention import *  # noqa: F401,F403,E402
from .ctc import *  # noqa: F401,F403,E402
from .shuffle import *  # noqa: F401,F403,E402
from .unpool import *  # noqa: F401,F403,E402
