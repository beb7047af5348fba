"""ember.nn: modules, layers, losses, functional, init and utils, like torch.nn."""
from .parameter import Parameter, Buffer, UninitializedParameter  # noqa: F401
from .modules.module import (Module, register_module_forward_pre_hook,  # noqa: F401
                             register_module_forward_hook)
from . import functional, init, utils  # noqa: F401
# layers of other families (conv, pooling, recurrent, attention, transformer) are added below
from .modules.container import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                                ParameterDict)
