"""The service's page in a real browser: headless Chromium fills in the form, submits it,
and the entities and the answer show, as `nlp_tasks.predict` gives them.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package; skipped,
with the reason, where one of them is missing. NLP_TASKS_SCREENSHOT=PATH also saves a
screenshot of the answered page (the README's picture is made this way).
"""

import os
import shutil
from pathlib import Path

import pytest
import spacy

import nlp_tasks
from nlp_tasks.registry import get_task
from nlp_tasks.testing import make_tiny_backbone, train_steps
from nlp_tasks.training.config import make_config

pytestmark = pytest.mark.slow

TEXT = "Jane Smith visited Paris. Marta founded the bakery in 1987."
QUESTION = "Who founded the bakery?"
RECORDS = {
    "ner": [{"text": TEXT, "entities": [[0, 10, "PER"], [19, 24, "LOC"], [26, 31, "PER"]]}],
    "qa": [
        {
            "id": "who",
            "context": TEXT,
            "question": QUESTION,
            "answers": {"text": ["Marta"], "answer_start": [26]},
        }
    ],
}


def browser_paths() -> tuple[str, str]:
    pytest.importorskip("selenium", reason="the selenium package is not installed")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """NER and QA on a tiny backbone, trained on the one text until they get it right."""
    root = tmp_path_factory.mktemp("browser")
    backbone = make_tiny_backbone(root / "backbone", [TEXT, QUESTION], special_tokens=True)
    config = make_config(list(RECORDS), backbone=str(backbone))
    for task in RECORDS:
        for split in ("train", "dev"):
            config["corpora"][split]["sources"][task] = "unused"
    config["training"]["optimizer"]["learn_rate"] = 0.003
    nlp = spacy.util.load_model_from_config(config.interpolate(), auto_fill=True)
    examples = [get_task(t).make_example(nlp, r) for t, rs in RECORDS.items() for r in rs]
    train_steps(nlp, nlp.initialize(lambda: examples), examples, steps=40, batch_size=2)
    nlp.to_disk(root / "pipeline")
    return root / "pipeline"


def test_the_page_answers_a_submitted_text(pipeline, tmp_path, start_server):
    browser, driver_path = browser_paths()
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    expected = nlp_tasks.predict(
        nlp_tasks.load(pipeline), [{"text": TEXT, "questions": [QUESTION]}]
    )[0]
    entities = [(e["text"], e["label"]) for e in expected["ner"]["ents"]]
    answer = expected["qa"]["answers"][0]["text"]
    assert entities and answer  # the heads learned the text: the page has something to show

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1000"):
        options.add_argument(argument)
    with start_server(pipeline, tmp_path / "serve.log") as base:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            driver.set_page_load_timeout(60)
            driver.get(base + "/")
            driver.find_element(By.ID, "f-text").send_keys(TEXT)
            driver.find_element(By.ID, "f-questions").send_keys(QUESTION)
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            # The click can return before the form's navigation begins; on a busy
            # machine a plain lookup then ran against the unanswered page.
            answered = expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, '.task[data-task="ner"]')
            )
            try:
                ner = WebDriverWait(driver, 60).until(answered)
            except TimeoutException:
                page = driver.find_element(By.TAG_NAME, "body").text
                pytest.fail(f"no answered page after 60 s; the page shows:\n{page}")
            qa = driver.find_element(By.CSS_SELECTOR, '.task[data-task="qa"]')
            shown = [
                tuple(mark.text.rsplit(None, 1))
                for mark in ner.find_elements(By.CSS_SELECTOR, "mark.entity")
            ]
            marked = [mark.text for mark in qa.find_elements(By.CSS_SELECTOR, "mark.entity")]
            qa_text = qa.text
            kept = driver.find_element(By.ID, "f-text").get_attribute("value")
            if os.environ.get("NLP_TASKS_SCREENSHOT"):
                driver.save_screenshot(str(Path(os.environ["NLP_TASKS_SCREENSHOT"])))
        finally:
            driver.quit()
    assert shown == entities
    assert marked == [f"{answer} ANSWER"]
    assert f"Q: {QUESTION}" in qa_text
    assert kept.strip() == TEXT
