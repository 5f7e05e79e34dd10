"""A training run end to end: build from the config, loop over epochs, log, validate, checkpoint, export."""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from i2i import __version__
from i2i.core.atomic import staged_dir
from i2i.core.components import check_arguments
from i2i.core.errors import ConfigError, DataError, I2IError, Interrupted
from i2i.core.faults import fault_point
from i2i.core.plugin_manager import plugin_versions
from i2i.data.datasets import PairDataset
from i2i.data.sampling import build_loader
from i2i.models.inference_mode import choose_inference_mode, has_batch_norm
from i2i.models.modeldir import load_config
from i2i.training import distributed
from i2i.training.checkpoint import load_checkpoint, save_checkpoint
from i2i.training.config import TrainConfig
from i2i.training.monitor import RunMonitor
from i2i.training.objective import Objective
from i2i.training.rundir import RunDir
from i2i.training.schedule import LrSchedule
from i2i.training.step import PairTrainer, Throughput
from i2i.training.validation import Validator
from i2i.training.weight_init import init_weights

CHECKPOINT_MINUTES = 10.0


def generator_args(config: TrainConfig, registry) -> dict[str, Any]:
    """G's arguments: its crop-derived defaults (``default_args``) under the config's own."""
    gen_cls = registry.resolve("generators", config.generator)
    try:
        defaults = gen_cls.default_args(config.crop_size) if hasattr(gen_cls, "default_args") else {}
    except ConfigError:
        if not config.generator_args:  # the user's own arguments may make the crop valid
            raise
        defaults = {}
    return {**defaults, **config.generator_args}


def build_networks(config: TrainConfig, objective: Objective, registry) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """G (with :func:`generator_args`) and, for adversarial objectives, D from the registry; ``config`` is read only."""
    gen_cls = registry.resolve("generators", config.generator)
    gen_args = generator_args(config, registry)
    generator = _build(gen_cls, "generator", config.generator, gen_args,
                       in_channels=config.in_channels, out_channels=config.out_channels)
    multiple = getattr(generator, "size_multiple", 1)
    if config.crop_size % multiple:
        if hasattr(gen_cls, "default_args"):
            gen_cls.default_args(config.crop_size)  # its own reason, where it has one
        raise ConfigError(f"--crop-size {config.crop_size} is not a multiple of {multiple}, which "
                          f"{config.generator} with {gen_args} needs")
    adversarial = objective.adversarial
    discriminator = None
    if adversarial is not None:
        disc_cls = registry.resolve("discriminators", config.discriminator)
        discriminator = _build(disc_cls, "discriminator", config.discriminator, config.discriminator_args,
                               in_channels=config.in_channels, out_channels=config.out_channels,
                               conditional=adversarial.conditional)
    if config.init_type is not None:  # else each network keeps its own init (the built-ins': the port's normal)
        for net in (generator, discriminator):
            if net is not None:
                init_weights(net, config.init_type, config.init_gain)
    return generator, discriminator


def _build(factory, kind: str, name: str, args: dict, **fixed):
    """``factory(**fixed, **args)``; arguments it rejects are the user's mistake: one clear line."""
    flag = "--gen-arg" if kind == "generator" else "--disc-arg"
    try:
        check_arguments(factory, kind, name, {**fixed, **args})
    except ConfigError as exc:
        raise ConfigError(f"{exc} ({flag})") from None
    try:
        return factory(**fixed, **args)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{kind} {name!r} rejects the arguments {args} ({flag}): {exc}; "
                          f"`i2i info {name}` lists its options") from exc


class TrainingRun:
    """One run directory's training: a new run, or ``resume`` an interrupted one; then ``fit``.

    ``config`` is resolved (:mod:`i2i.usecases` builds it) and becomes this run's own: the inference mode is
    recorded in it. ``registry`` gives the components; ``train_set`` and ``val_set`` (None: no validation) the data.
    """

    def __init__(self, config: TrainConfig, run: RunDir, *, registry, train_set: PairDataset,
                 val_set: PairDataset | None, device: torch.device, precision: str = "fp32",
                 quiet: bool = False, num_workers: int = 0, channels_last: bool | None = None,
                 cpu_gemm: bool | None = None) -> None:
        self.config, self.run, self.quiet = config, run, quiet
        torch.manual_seed(config.seed)
        objective = Objective.build(config.loss, registry, config.lambda_l1)
        generator, discriminator = build_networks(config, objective, registry)
        choose_inference_mode(config, has_batch_norm(generator))
        world = distributed.world()
        if world.active and config.sync_bn:
            generator = distributed.convert_sync_batchnorm(generator, device)
            discriminator = discriminator and distributed.convert_sync_batchnorm(discriminator, device)
        self.trainer = PairTrainer(generator, discriminator, objective, lr=config.lr,
                                   betas=(config.beta1, config.beta2), device=device, precision=precision,
                                   channels_last=channels_last, small_conv_gemm=cpu_gemm,
                                   data_parallel=distributed.data_parallel)
        self.train_set, self.val_set = train_set, val_set
        self.loader = build_loader(self.train_set, config.batch_size, shuffle=True, seed=config.seed,
                                   num_workers=num_workers, rank=world.rank, world_size=world.size)
        self.validator = Validator(config, registry, device, precision)
        self.schedule = LrSchedule(config.lr_policy, config.epochs, config.epochs_decay, config.lr_decay_every,
                                   config.best_metric is not None
                                   and registry.resolve("metrics", config.best_metric).higher_is_better)
        if config.lr_policy == "plateau" and (self.val_set is None or not config.val_every or not config.best_metric):
            raise ConfigError("--lr-policy plateau follows the validation score: it needs a val split, "
                              "--val-every >= 1 and a --best-metric")
        self.monitor = RunMonitor(run, config.total_epochs, self.loader.batch_sampler.batches_per_epoch(), quiet=quiet)
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.best: float | None = None
        self._in_step = self._stop_requested = False

    def disk_plan(self):
        """What the run's checkpoints and model will take on disk (:mod:`i2i.training.disk_plan`)."""
        from i2i.training.disk_plan import plan_disk

        return plan_disk(self.config, self.trainer.generator, self.trainer.discriminator)

    def write_config(self, runtime: dict[str, Any] | None = None) -> None:
        """The resolved config, with the i2i and plugin versions that ran it and this session's ``runtime``
        choices (device, precision, CPU GEMM and why; informational: a resume may choose differently)."""
        provenance = {"i2i_version": __version__, "plugins": plugin_versions()}
        record = {**self.config.as_dict(), "provenance": provenance}
        self.run.write_config({**record, "runtime": runtime} if runtime else record)

    # --- state ------------------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "global_step": self.global_step,
                "best": self.best, "i2i_version": __version__, "lr_schedule": self.schedule.state_dict()}

    @distributed.main_process_only
    def save(self, name: str, **meta: Any) -> Path:
        """Checkpoint ``name`` of the current state (``meta`` overrides the recorded position): ``latest`` holds
        the whole training state (resume needs it); the others hold the generator's weights only, unless the
        run was started with --save-training-state."""
        full = name == "latest" or self.config.save_training_state
        modules = self.trainer.modules if full else {"generator": self.trainer.generator}
        optimizers = self.trainer.optimizers if full else {}
        try:
            return save_checkpoint(self.run.checkpoint(name), modules, optimizers,
                                   {**self._meta(), "training_state": full, **meta},
                                   self.trainer.scaler if full else None)
        except OSError as exc:
            raise self._io_error(exc) from exc

    def _io_error(self, exc: OSError) -> DataError:
        """An I/O error (e.g. a full disk) as one line: checkpoints are replaced atomically, the last one is whole."""
        return DataError(f"{exc.strerror or exc}: {exc.filename or self.run.path}; the last complete checkpoint is "
                         f"kept: fix that (e.g. free some space) and resume with `i2i train --resume {self.run.path}`")

    def resume(self) -> None:
        """Continue from the latest checkpoint: weights, optimisers, RNG and position in the epoch. A run that
        never saved one starts from scratch; one whose model/ lags its checkpoint ends that epoch again."""
        if not self.run.has_checkpoint():
            self.run.clear_progress()
            return
        self.load("latest")
        if self.batch_in_epoch == 0 and self.epoch > 0 and not self._exported(self.epoch):
            # stopped between the checkpoint and the export by an earlier i2i, which saved `latest` first
            self.epoch, self.batch_in_epoch = self.epoch - 1, self.loader.batch_sampler.batches_per_epoch()
        self.run.drop_metrics_after(self.global_step, epoch_ended=self.batch_in_epoch == 0)

    def _exported(self, epoch: int) -> bool:
        """Whether model/ holds the generator of ``epoch``."""
        try:
            return load_config(self.run.model)["provenance"]["epochs"] == epoch
        except I2IError:
            return False

    @property
    def resume_point(self) -> str:
        """Where training continues, in words."""
        if self.global_step == 0:
            return "from its start (it saved no checkpoint)"
        if self.epoch_trained:
            return f"at the end of epoch {self.epoch + 1}"
        return f"at epoch {self.epoch + 1}, batch {self.batch_in_epoch + 1}"

    @property
    def epoch_trained(self) -> bool:
        """Every batch of the current epoch is done and its end (validation, export, ``latest``) is not."""
        return self.batch_in_epoch == self.loader.batch_sampler.batches_per_epoch()

    def load(self, name: str = "latest") -> None:
        meta = load_checkpoint(self.run.checkpoint(name), self.trainer.modules, self.trainer.optimizers,
                               self.trainer.scaler)
        self.epoch, self.batch_in_epoch = meta["epoch"], meta["batch_in_epoch"]
        self.global_step, self.best = meta["global_step"], meta["best"]
        self.schedule.load_state_dict(meta.get("lr_schedule"))

    @distributed.main_process_only
    def save_model(self, epoch: int) -> Path:
        """Write the generator, trained for ``epoch`` epochs, as a model dir (``RUN/model``) that the translator
        loads without flags; its files are staged and swapped in together."""
        from i2i.models.modelcard import write_model_card
        from i2i.models.modeldir import save_model_dir
        from i2i.training.checkpoint_model import run_model_config

        state = {k: v.detach().cpu() for k, v in self.trainer.generator.state_dict().items()}
        with staged_dir(self.run.model) as staging:
            save_model_dir(staging, state, run_model_config(self.config, epoch))
            write_model_card(staging, samples=self.run.samples)
        return self.run.model

    # --- loop -------------------------------------------------------------------------------------

    def fit(self) -> Path:
        """Train until the schedule ends; Ctrl-C saves a resumable checkpoint first."""
        c = self.config
        try:
            with self._interrupt_after_step():
                while self.epoch < c.total_epochs:
                    self._train_epoch()
                    self._end_epoch()
        except KeyboardInterrupt:
            if self._in_step:  # a second Ctrl-C cut a step short: its half-done state must not be saved
                raise Interrupted(f"stopped during a step without saving; `i2i train --resume {self.run.path}` "
                               f"continues from the last saved checkpoint") from None
            self.save("latest")
            where = (f"at the end of epoch {self.epoch + 1} (it ends again on resuming)" if self.epoch_trained else
                     f"in epoch {self.epoch + 1} after batch {self.batch_in_epoch} of "
                     f"{self.loader.batch_sampler.batches_per_epoch()}")
            raise Interrupted(f"interrupted {where}; checkpoint saved: resume with "
                              f"`i2i train --resume {self.run.path}`") from None
        except OSError as exc:
            raise self._io_error(exc) from exc
        return self.run.model

    @contextlib.contextmanager
    def _interrupt_after_step(self) -> Iterator[None]:
        """Ctrl-C during a training step stops the run after that step, so the checkpoint holds whole steps
        (weights, optimiser moments and RNG in step); a second Ctrl-C stops at once, without saving."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_interrupt(signum, frame):  # in a distributed run all ranks must stop after the same step
            if (not self._in_step and not distributed.world().active) or self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _train_epoch(self) -> None:
        c, trainer = self.config, self.trainer
        lr = trainer.set_lr_factor(self.schedule.factor(self.epoch))
        loader = self.loader
        loader.set_epoch(self.epoch, start_batch=self.batch_in_epoch)
        if len(loader) + self.batch_in_epoch == 0:
            raise DataError(f"the train split has fewer images than --batch-size {c.batch_size}")
        bar = tqdm(total=len(loader) + self.batch_in_epoch, initial=self.batch_in_epoch, disable=True if self.quiet else None,
                   desc=f"epoch {self.epoch + 1}/{c.total_epochs}", unit="it", dynamic_ncols=True, leave=True)
        throughput, last_save = Throughput(), time.monotonic()
        with bar:
            for batch in loader:
                self._in_step = True  # a Ctrl-C from here on takes effect at the end of this iteration
                distributed.seed_step(c.seed, self.global_step)
                result = trainer.step(batch["a"], batch["b"])
                self.batch_in_epoch += 1
                self.global_step += 1
                throughput.add(batch["a"].shape[0] * distributed.world().size)
                bar.update(1)
                if self.global_step % c.log_every == 0:
                    losses = distributed.average(result.as_floats())
                    if not all(math.isfinite(v) for v in losses.values()):
                        raise I2IError(f"loss became non-finite at step {self.global_step}: {losses}; "
                                       f"try --precision fp32 or a lower --lr")
                    record = {"epoch": self.epoch + 1, "step": self.global_step, "lr": lr,
                              "img_per_s": round(throughput.take(), 3), **losses}
                    self.run.log(record)
                    self.monitor.log(record)
                    bar.set_postfix({k.removeprefix("loss_"): f"{v:.3f}" for k, v in losses.items()})
                if time.monotonic() - last_save > CHECKPOINT_MINUTES * 60:
                    self.save("latest")
                    last_save = time.monotonic()
                self._in_step = False
                if distributed.any_rank(self._stop_requested):
                    raise KeyboardInterrupt

    def _end_epoch(self) -> None:
        """Sample grid, validation, best and periodic checkpoints, export, and last ``latest``, which records the
        epoch as done. Until then the position stays "all batches of the epoch trained" (what Ctrl-C saves), and
        each phase is idempotent, so a run stopped at any point ends the epoch again, to the same files."""
        c = self.config
        epoch = self.epoch + 1
        after = {"epoch": epoch, "batch_in_epoch": 0, "best": self.best,  # the position once the end is done
                 "lr_schedule": self.schedule.state_dict()}
        record: dict[str, Any] = {"epoch": epoch, "step": self.global_step}
        source = self.val_set if self.val_set is not None else self.train_set
        fault_point("end:samples")
        self.validator.write_samples(self.trainer.generator, source, self.run.sample(epoch))
        if self.val_set is not None and c.val_every and epoch % c.val_every == 0:
            fault_point("end:validate")
            scores = self.validator.evaluate(self.trainer.generator, self.val_set)
            record["val"] = scores
            if c.best_metric:
                after["lr_schedule"] = self.schedule.after_score(scores[c.best_metric], c.lr)
            if self.validator.improved(scores, after["best"]):
                after["best"] = scores[c.best_metric]
                self.save("best", **after)
        fault_point("end:log")
        self.run.log(record)
        self.monitor.log(record)
        fault_point("end:periodic")
        if c.save_every and epoch % c.save_every == 0:
            self.save(f"epoch_{epoch:04d}", **after)
        fault_point("end:export")
        self.save_model(epoch)
        fault_point("end:latest")
        self.save("latest", **after)
        self._in_step = True  # the position changes as a whole: a Ctrl-C now takes effect after it
        self.epoch, self.batch_in_epoch, self.best = epoch, 0, after["best"]
        self.schedule.load_state_dict(after["lr_schedule"])
        self._in_step = False
        distributed.print_on_main(f"epoch {epoch}/{c.total_epochs} done" +
              "".join(f", {k} {v:.4g}" for k, v in record.get("val", {}).items()), file=sys.stderr, flush=True)
        if self._stop_requested:
            raise KeyboardInterrupt
