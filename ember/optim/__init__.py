"""ember.optim: PyTorch's optimizers and learning-rate schedulers."""
from .optimizer import (Optimizer, register_optimizer_step_post_hook,  # noqa: F401
                        register_optimizer_step_pre_hook)
from .sgd import SGD  # noqa: F401
from .adam import Adam  # noqa: F401
from .adamw import AdamW  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adadelta import Adadelta  # noqa: F401
from .adamax import Adamax  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .radam import RAdam  # noqa: F401
from . import lr_scheduler  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .asgd import ASGD  # noqa: F401,E402
from .rprop import Rprop  # noqa: F401,E402
from .adafactor import Adafactor  # noqa: F401,E402
from .muon import Muon  # noqa: F401,E402
