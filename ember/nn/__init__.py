"""ember.nn: modules, layers, losses, functional, init and utils, like torch.nn."""
from .parameter import Parameter, Buffer, UninitializedParameter  # noqa: F401
from .modules.module import (Module, register_module_forward_pre_hook,  # noqa: F401
                             register_module_forward_hook)
from .modules.container import *  # noqa: F401,F403
from .modules.linear import *  # noqa: F401,F403
from .modules.flatten import *  # noqa: F401,F403
from .modules.activation import *  # noqa: F401,F403
from .modules.normalization import *  # noqa: F401,F403
from .modules.dropout import *  # noqa: F401,F403
from .modules.sparse import *  # noqa: F401,F403
from .modules.loss import *  # noqa: F401,F403
from . import functional, init, utils  # noqa: F401
# layers of other families (conv, pooling, recurrent, attention, transformer) are added below
from .modules.conv import *  # noqa: F401,F403,E402
from .modules.pooling import *  # noqa: F401,F403,E402
from .modules.upsampling import *  # noqa: F401,F403,E402
from .modules.rnn import *  # noqa: F401,F403,E402
from .modules.attention import *  # noqa: F401,F403,E402
from .modules.transformer import *  # noqa: F401,F403,E402
from .modules.padding import *  # noqa: F401,F403,E402
from .modules.lazy import *  # noqa: F401,F403,E402
from .modules.ctc import *  # noqa: F401,F403,E402
from . import parallel  # noqa: F401,E402  (torch.nn.parallel; issue 15)
from .parallel import DataParallel  # noqa: F401,E402
