"""A registered model fitted to the data it is given, and the data to the model.

:func:`build_model_and_data` (what ``nnzoo train MODEL --data NAME`` runs) reads the data in its
own shape first and takes from it every option the caller left out:

- the classes: ``num_classes`` (``classes`` for the perceptron);
- a flat input: ``in_features`` of an MLP or a dense autoencoder, ``visible`` of an RBM (every
  value of a sample: 784 for a 28x28 image, 3,072 for CIFAR-10's 3x32x32);
- a sequence: ``input_size`` and ``steps`` of a recurrent classifier reading an image row by
  row (a colour row is its pixels' values, R, G, B for each: 96 for CIFAR-10), ``window`` and
  ``input_size`` of a forecaster;
- an image, for a model with a (C, H, W) input: ``in_channels`` (grey digits give ResNet-20 one
  input channel, and its filters are drawn grey), ``image_size`` (a GAN, a convolutional
  autoencoder), and the image's own height and width where the model takes them. A model
  built for one field (LeNet-5's 32x32) gets the data fitted to it instead: the loader puts
  MNIST's 28x28 on a margin, as LeCun et al. did. Images under ``MIN_OWN_SIDE`` pixels (the
  embedded 8x8 digits) are scaled up to the model's field;
- the form: the ImageNet-era nets (AlexNet, VGG, GoogLeNet, the ImageNet ResNets) are built for
  224x224 unless ``small_input=True``, which is chosen for images under ``SMALL_IMAGE`` pixels
  and said in one line;
- the task: an autoencoder or an RBM given a classification dataset reads its ``-reconstruct``
  twin (``fashion-mnist`` → ``fashion-mnist-reconstruct``), binarized for the RBM, whose
  visible units are binary.

Whether a model takes the images' own size is asked of the model: it is built for them and
shown two of them; if that fails it is built again for its own field.
"""

from __future__ import annotations

import math

MIN_OWN_SIDE = 16  # smaller images are scaled up to the model's field
SMALL_IMAGE = 64  # images under this many pixels a side get the small-input form
SMALL_FIELD = (32, 32)  # the small-input form's field for images under MIN_OWN_SIDE: CIFAR's
FLAT_OPTIONS = ("in_features", "visible")  # values per sample (visible: a reconstructing model's)
SHAPE_OPTIONS = (*FLAT_OPTIONS, "input_size", "in_channels", "image_size", "small_input")
# Tasks whose models learn from nothing but data of the same task: an encoder-decoder reads
# (source, target) pairs, a language model a stream of tokens. (A GAN or an RBM can learn the
# images of any dataset, and a classifier does what its dataset asks.)
OWN_DATA_TASKS = ("seq2seq", "language-model")


def rows_of(sample_shape: tuple[int, ...]) -> tuple[int, int]:
    """(steps, values per step) of a sample read as a sequence: (T, F) as it is, an image
    (C, H, W) row by row, each row its W pixels' C values."""
    if len(sample_shape) == 3:
        c, h, w = sample_shape
        return h, c * w
    return tuple(sample_shape[-2:])


def input_size_options(accepted: dict, given: dict, sample_shape: tuple[int, ...],
                       default_shape: tuple[int, ...] = ()) -> dict:
    """The input-size options a model takes and ``given`` left out, read from one sample of
    the data where they differ from the model's defaults (``accepted``): an MLP on 2-D points
    gets ``in_features=2``, an LSTM classifier reading 28x28 images row by row ``steps=28,
    input_size=28`` (CIFAR-10's 3x32x32: ``steps=32, input_size=96``), a forecaster on the
    adding problem ``window=100, input_size=2``. ``default_shape`` (the registered input shape)
    stands in for a default of None. ``visible`` is counted only where ``accepted`` marks it
    (see :func:`build_model_and_data`)."""
    defaults = dict(accepted)
    flat = [key for key in FLAT_OPTIONS if key in accepted]
    for key in flat:
        if defaults.get(key) is None and default_shape:
            defaults[key] = math.prod(default_shape)
    found = {key: math.prod(sample_shape) for key in flat}  # a flat input: every value
    if "input_size" in accepted and len(sample_shape) in (2, 3):
        steps, size = rows_of(tuple(sample_shape))
        found["input_size"] = size
        for length in ("steps", "window"):
            if length in accepted:
                found[length] = steps
    return {key: value for key, value in found.items()
            if key not in given and value != defaults[key]}


def built_if_it_takes(name: str, options: dict, split):
    """Model ``name`` built with ``options`` if that can be done and it runs on two samples of
    ``split``; else None."""
    import nnzoo
    from nnzoo.errors import NnzooError
    from nnzoo.train.checks import check_input_fits

    try:
        model = nnzoo.create(name, **options)
        check_input_fits(model, split, name)
    except NnzooError:
        return None
    return model


def small_input_note(name: str, side: tuple[int, int]) -> str:
    return (f"{name}: the images are {side[0]}x{side[1]}, under {SMALL_IMAGE} pixels a side: "
            f"building its small-input form (small_input=true, as `nnzoo info {name}` "
            f"describes); -o small_input=false builds the 224x224 form.")


def image_options(name: str, entry, given: dict, sample: tuple[int, int, int]):
    """For a model with a (C, H, W) input and images of shape ``sample``: ``(found, own,
    field, note)``. ``found`` are the options read from the images (where ``given`` has
    none); ``own`` is the (C, H, W) of the images' own size when the model may take it (to be
    tried, with ``found``), else None; ``field`` the (C, H, W) of the model's own field, to fit
    the images to otherwise (with ``found`` less ``image_size``); ``note`` says that the
    small-input form was chosen (else None)."""
    accepted = entry.options()
    channels, h, w = sample
    found = {}
    if "in_channels" in accepted and "in_channels" not in given:
        found["in_channels"] = channels
    note = None
    small = bool(given.get("small_input", accepted.get("small_input")))
    if "small_input" in accepted and "small_input" not in given and max(h, w) < SMALL_IMAGE:
        found["small_input"] = small = True
        note = small_input_note(name, (h, w))
    c = int({**given, **found}.get("in_channels", entry.input_shape[0]))
    field = SMALL_FIELD if small else tuple(entry.input_shape[1:])
    own = (h, w) if min(h, w) >= MIN_OWN_SIDE else None
    if "image_size" in accepted:  # a square field of the model's own size
        if "image_size" in given:
            own, field = None, (int(given["image_size"]),) * 2
        elif own is not None and h == w:
            found["image_size"] = h
        else:
            own = None
    found = {k: v for k, v in found.items() if v != accepted.get(k)}
    if own is not None and own == field:
        own = None
    return found, own and (c, *own), (c, *field), note


def dataset_for_task(model_task: str, data_name: str) -> str:
    """The dataset a model of ``model_task`` reads for ``data_name``: an autoencoder or an RBM
    given a classification dataset reads its ``-reconstruct`` twin when there is one."""
    from nnzoo.data import dataset_entry, list_datasets

    twin = f"{data_name}-reconstruct"
    if model_task == "reconstruct" and dataset_entry(data_name).task == "classify" \
            and twin in list_datasets():
        return twin
    return data_name


def refuse_data_of_another_task(model: str, model_task: str, data_name: str, data_task: str) -> None:
    """An error unless a model of an ``OWN_DATA_TASKS`` task gets a dataset of its task."""
    from nnzoo.data import dataset_entry, list_datasets
    from nnzoo.errors import NnzooError

    if model_task in OWN_DATA_TASKS and data_task != model_task:
        fitting = [name for name in list_datasets() if dataset_entry(name).task == model_task]
        raise NnzooError(f"{model} is a {model_task} model; dataset {data_name!r} is a {data_task} "
                         f"dataset. Expected a {model_task} dataset: {', '.join(fitting)}.")


def binary_data_options(name: str, entry, model_options: dict, data_name: str,
                        data_options: dict) -> dict:
    """``data_options``, with ``binarize=True`` for a model with binary visible units (an RBM)
    on a dataset that can binarize its pixels, unless the caller said otherwise."""
    import inspect

    import torch

    import nnzoo
    from nnzoo.data import dataset_entry
    from nnzoo.models.rbm import RBM

    takes = inspect.signature(dataset_entry(data_name).loader).parameters
    if entry.task != "reconstruct" or "binarize" not in takes or "binarize" in data_options:
        return data_options
    with torch.device("meta"):  # which class the factory builds: shapes only
        binary = isinstance(nnzoo.create(name, **model_options), RBM)
    return {**data_options, "binarize": True} if binary else data_options


def class_options(accepted: dict, given: dict, num_classes: int | None) -> dict:
    """``num_classes`` from the data, and the perceptron's ``classes`` (one unit, None, for two
    classes), where the model takes them and ``given`` has none."""
    found = {}
    if "num_classes" in accepted and num_classes and "num_classes" not in given:
        found["num_classes"] = num_classes
    if "classes" in accepted and (num_classes or 0) > 2 and "classes" not in given:
        found["classes"] = num_classes
    return found


def build_model_and_data(name: str, model_options: dict, data_name: str | None,
                         data_options: dict, data_dir: str | None, say=None, input_shape=None):
    """Model ``name`` and its data, each fitted to the other (module docstring). With
    ``input_shape``, the one a run recorded (a resumed run, a run's config.json trained again),
    the model is built with ``model_options`` as they are and the data read in that shape.

    Returns ``(model, data, model_options, data_name, data_options)``: the model, the data, and
    the options and dataset as a run records them, so that they can be built again. ``say``, a
    function of one line of text, is told of a choice worth knowing (the small-input form).

    >>> model, data, options, name, _ = build_model_and_data(
    ...     "resnet20", {}, "fashion-mnist", {}, None)                      # doctest: +SKIP
    >>> options, data.input_shape                                           # doctest: +SKIP
    ({'in_channels': 1, 'num_classes': 10}, (1, 28, 28))
    """
    import nnzoo
    from nnzoo.errors import NnzooError
    from nnzoo.train.checks import check_input_fits

    entry = nnzoo.get_entry(name)
    data_name = dataset_for_task(entry.task, data_name or entry.dataset)
    data_options = binary_data_options(name, entry, model_options, data_name, data_options)
    if input_shape is not None:  # as recorded: nothing to find out
        data = nnzoo.load_dataset(data_name, input_shape=tuple(input_shape), data_dir=data_dir,
                                  **data_options)
        refuse_data_of_another_task(name, entry.task, data_name, data.task)
        model = nnzoo.create(name, **model_options)
        check_input_fits(model, data.train, data_name)
        return model, data, dict(model_options), data_name, data_options
    accepted = entry.options()
    if entry.task != "reconstruct":
        accepted.pop("visible", None)  # a Boltzmann machine's visible units are its own choice
    input_shape = tuple(entry.input_shape)
    if "in_channels" in model_options and len(input_shape) == 3:
        input_shape = (int(model_options["in_channels"]), *input_shape[1:])
    options, own, data = dict(model_options), None, None
    if any(key in accepted and key not in options for key in SHAPE_OPTIONS):
        data = nnzoo.load_dataset(data_name, data_dir=data_dir, **data_options)  # its own shape
        sample = tuple(data.input_shape)
        if len(input_shape) == 3 and len(sample) == 3:
            found, own, input_shape, note = image_options(name, entry, options, sample)
            options.update({k: v for k, v in found.items() if k != "image_size"})
            own_options = {**options, **found}
            if note and say:
                say(note)
        else:
            sizes = input_size_options(accepted, options, sample, tuple(entry.input_shape))
            options.update(sizes)
            if any(key in sizes for key in FLAT_OPTIONS):
                input_shape = (math.prod(sample),)
            elif sizes:  # a sequence model: (steps, features) as the sample has them
                input_shape = rows_of(sample)
    if data is not None:
        refuse_data_of_another_task(name, entry.task, data_name, data.task)
        options.update(class_options(accepted, options, data.num_classes))
    model = None
    if own is not None:  # the images as they are, if the model takes them
        model = built_if_it_takes(name, {**own_options, **options}, data.train)
        if model is not None:
            options, input_shape = {**own_options, **options}, own
    if data is None or tuple(data.input_shape) != input_shape:
        data = nnzoo.load_dataset(data_name, input_shape=input_shape, data_dir=data_dir,
                                  **data_options)
        refuse_data_of_another_task(name, entry.task, data_name, data.task)
        options.update(class_options(accepted, options, data.num_classes))
    if model is None:
        model = nnzoo.create(name, **options)
    wanted = tuple(getattr(model, "input_shape", None) or input_shape)
    if wanted != tuple(data.input_shape) and data.input_shape:
        data = nnzoo.load_dataset(data_name, input_shape=wanted, data_dir=data_dir,
                                  **data_options)
    if data.num_classes and options.get("num_classes") not in (None, data.num_classes):
        raise NnzooError(f"Model {name!r} was asked for {options['num_classes']} classes but "
                         f"dataset {data_name!r} has {data.num_classes}.")
    check_input_fits(model, data.train, data_name)
    return model, data, options, data_name, data_options
