"""Knowledge distillation: a student model trained on a frozen teacher's softened predictions.

`Distiller` is a `keras.Model` that holds both networks. It overrides only `compute_loss`, the
extension point Keras's trainers call on every backend with `x` and the student's prediction, so
`fit`, `evaluate`, `predict`, callbacks, `steps_per_execution`, XLA and `.keras` save/load work
as for any model; the student comes out alone as `distiller.student`.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.validation import check_bool, check_number


def soft_targets(logits, temperature: float):
    """`softmax(z / T)`: the class probabilities softened by the temperature `T`."""
    return ops.softmax(ops.divide(ops.cast(logits, "float32"), temperature), axis=-1)


def distillation_loss(teacher_logits, student_logits, temperature: float):
    """Per-sample `T^2 * KL(softmax(z_t / T) || softmax(z_s / T))` (pure function).

    The `T^2` keeps the gradient of the soft term at the scale of the hard one whatever the
    temperature (its gradient scales as `1 / T^2`, Hinton et al. 2015, section 2).

    Args:
        teacher_logits: The teacher's logits, `(batch, classes)`.
        student_logits: The student's logits, same shape.
        temperature: `T` > 0.

    Returns:
        A `(batch,)` float32 tensor.

    Example:
    ```python
    distillation_loss(ops.zeros((2, 3)), ops.zeros((2, 3)), 4.0)  # [0., 0.]
    ```
    """
    teacher = ops.divide(ops.cast(teacher_logits, "float32"), temperature)
    student = ops.divide(ops.cast(student_logits, "float32"), temperature)
    log_teacher = ops.log_softmax(teacher, axis=-1)
    log_student = ops.log_softmax(student, axis=-1)
    kl = ops.sum(ops.exp(log_teacher) * (log_teacher - log_student), axis=-1)
    return kl * (temperature**2)


@register("model")
class Distiller(keras.Model):
    """Train `student` on a weighted sum of the labels' loss and a frozen `teacher`'s soft targets.

    `loss = alpha * L(y, s(x)) + (1 - alpha) * T^2 * KL(softmax(t(x) / T) || softmax(s(x) / T))`

    where `L` is the loss given to `compile` (with its sample weights and the student's
    regularization losses), `s` and `t` the student's and teacher's logits and `T` the
    temperature; the KL term is averaged over the batch with the same sample weights. The
    teacher runs in inference mode (`training=False`) and is frozen: the constructor sets
    `teacher.trainable = False`, so no optimizer slot or weight decay touches it.

    Rows without labels (Hinton et al.'s "transfer set": rows only the teacher labels): give them
    the label -1 and compile with `SparseCategoricalCrossentropy(..., ignore_class=-1)`. They
    then add only the soft term; the labels' loss is the mean over the labeled rows of the batch.

    Calling the distiller (and `predict`) returns the student's output, so compiled metrics
    measure the student. `evaluate` reports the same combined loss. After training, use
    `distiller.student` (save it, serve it) on its own.

    Args:
        teacher: A trained `keras.Model` with the student's output shape.
        student: The `keras.Model` to train.
        temperature: `T` > 0. Defaults to 4.0 (Hinton et al. report 2 to 20 working; higher
            for more classes, lower for a much smaller student).
        alpha: Weight of the labels' loss, in [0, 1]; `1 - alpha` goes to the soft targets.
            Defaults to 0.1 (keras.io's distillation example; Hinton et al. put "a
            considerably lower weight" on the hard targets).
        from_logits: Whether both models output logits (default). With False their outputs
            are probabilities, turned into logits as `log(p)` (then `softmax(log(p) / T)` is
            the tempered distribution); compile with a loss that takes probabilities.
        name: Optional name.

    Raises:
        ValueError: for a teacher or student that is not a `keras.Model`, the same model as
            both, `temperature` not > 0 or `alpha` outside [0, 1].

    Example:
    ```python
    distiller = Distiller(teacher, student, temperature=4.0, alpha=0.1)
    distiller.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    distiller.fit(x, y, epochs=10)
    distiller.student.save("student.keras")
    ```

    Reference:
        Hinton, Vinyals and Dean, 2015, "Distilling the Knowledge in a Neural Network"; the
        keras.io example "Knowledge Distillation" (Kenneth Borup).
    """

    def __init__(
        self,
        teacher,
        student,
        temperature: float = 4.0,
        alpha: float = 0.1,
        from_logits: bool = True,
        name: str | None = None,
        **kwargs,
    ):
        if isinstance(teacher, dict):
            teacher = keras.saving.deserialize_keras_object(teacher)
        if isinstance(student, dict):
            student = keras.saving.deserialize_keras_object(student)
        for label, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, keras.Model):
                raise ValueError(
                    f"Argument {label} must be a keras.Model. Received: {label}={model!r}"
                )
        if teacher is student:
            raise ValueError(
                f"Argument student must be another model than the teacher. Received: "
                f"student={student!r}"
            )
        temperature = check_number("temperature", temperature, low=0.0, low_open=True)
        alpha = check_number("alpha", alpha, low=0.0, high=1.0)
        from_logits = check_bool("from_logits", from_logits)
        super().__init__(name=name, **kwargs)
        teacher.trainable = False
        self.teacher = teacher
        self.student = student
        self.temperature = temperature
        self.alpha = alpha
        self.from_logits = from_logits
        # Built when both networks are (Functional and Sequential models with an `Input`), so
        # that a loaded distiller builds its optimizer and gets its saved slots back.
        if student.built and teacher.built:
            self.built = True

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def build(self, input_shape):
        for model in (self.student, self.teacher):
            if not model.built:
                model.build(input_shape)
        self.built = True

    def _logits(self, outputs):
        if self.from_logits:
            return outputs
        return ops.log(ops.maximum(ops.cast(outputs, "float32"), 1e-12))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`alpha` times the compiled loss plus `1 - alpha` times the distillation term."""
        hard = super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
        )
        teacher_pred = ops.stop_gradient(self.teacher(x, training=False))
        soft = distillation_loss(self._logits(teacher_pred), self._logits(y_pred), self.temperature)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), ops.shape(soft))
            soft = ops.sum(soft * weight) / ops.maximum(ops.sum(weight), 1e-12)
        else:
            soft = ops.mean(soft)
        return self.alpha * hard + (1.0 - self.alpha) * ops.cast(soft, hard.dtype)

    def get_config(self):
        teacher = keras.saving.serialize_keras_object(self.teacher)
        # The frozen teacher's own compile state (an optimizer built for its training) has no
        # use here and would not load into a teacher with no trainable weights.
        teacher.pop("compile_config", None)
        config = {
            "name": self.name,
            "teacher": teacher,
            "student": keras.saving.serialize_keras_object(self.student),
            "temperature": self.temperature,
            "alpha": self.alpha,
            "from_logits": self.from_logits,
        }
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)


__all__ = ["Distiller", "distillation_loss", "soft_targets"]
