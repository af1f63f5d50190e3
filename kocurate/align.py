"""English↔Korean alignment: by id, or by position with drift repair and a confidence per pair.

Upstream KoAlpaca v1.0 dropped 2,382 of 52,002 rows, so a plain index join misaligns everything
after the first gap. We score each candidate pair by content cues that survive translation
(numbers, also spelled out — "three" / 세 가지; Latin-script words such as names and code
identifiers; URLs; which fields are empty; per-field length ratio; commas, question marks, line
structure; and a small built-in English→Korean lexicon of frequent instruction words and
loanwords: explain→설명, list→목록/나열, poem→시, computer→컴퓨터 …) as a log-likelihood-like sum.
The best path through the rows is found by dynamic programming over (row, offset) in a
beam of offsets, paying a penalty for every gap (English rows dropped) and for every step back (a
Korean row with no partner of its own: inserted, duplicated, or two rows swapped). A backward pass
gives, for every row, the best score of any path that pairs it differently (max-marginals): the
margin between the two is how sure we are. A pair is "aligned" only when its own evidence, its
margin and its neighbours agree; the rest is "ambiguous" (or "unaligned") for review, never
silently joined. ``breakdown_warning`` is what the import prints when too many rows are unsure.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .hangul import SYLLABLES
from .i18n import N_, Text

_NUM = re.compile(r"[0-9]+(?:[.,][0-9]+)*")  # ASCII digits: a fifth quicker than \d
_DIGIT = re.compile(r"\d")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_']+")
_URL = re.compile(
    r"https?://[^\s)\]>\"']+|www\.[^\s)\]>\"']+|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+"
)  # anchored: no quadratic scan of long fields
_HANGUL = re.compile(r"[" + SYLLABLES + r"]")
_EN_WORD = re.compile(r"[a-z]+")
_KO_WORD = re.compile(r"[" + SYLLABLES + r"]+")

# Korean text is about 0.45x the characters of its English source (DeepL, measured on the seed data)
KO_EN_LENGTH_RATIO = 0.45
GAP_PENALTY = 3.0  # cost of assuming rows were dropped from the Korean side at this point
BEAM = 48  # offsets kept alive beyond the best one: how far a gap may jump in one go
AMBIGUOUS_BELOW = -0.5  # a pair whose own evidence sums below this is marked for review
MARGIN_BELOW = 4.0  # ... and so is one that another pairing explains almost as well

_EN_NUMBERS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "dozen": "12",
    "hundred": "100",
    "thousand": "1000",
}
_KO_NATIVE = {
    "한": "1",
    "하나": "1",
    "두": "2",
    "둘": "2",
    "세": "3",
    "셋": "3",
    "네": "4",
    "넷": "4",
    "다섯": "5",
    "여섯": "6",
    "일곱": "7",
    "여덟": "8",
    "아홉": "9",
    "열": "10",
    "스무": "20",
    "스물": "20",
}
_KO_COUNTERS = (
    "가지",
    "개",
    "명",
    "문장",
    "번",
    "단계",
    "줄",
    "단어",
    "권",
    "장",
    "살",
    "마리",
    "곳",
    "편",
    "쌍",
    "문단",
    "단락",
    "시간",
    "음절",
    "글자",
    "행",
    "구절",
    "항목",
    "요소",
    "종류",
    "나라",
    "도시",
    "사람",
    "대",
    "척",
    "개국",
    "쪽",
    "통",
)
_KO_SPELLED = re.compile(
    r"(?<!["
    + SYLLABLES
    + r"])("
    + "|".join(sorted(_KO_NATIVE, key=len, reverse=True))
    + r")\s?("
    + "|".join(sorted(_KO_COUNTERS, key=len, reverse=True))
    + r")"
)
_KO_ALONE = re.compile(
    r"(?<![" + SYLLABLES + r"])(하나|둘|셋|넷)(?:[를은는가의로와도]|씩)?(?![" + SYLLABLES + r"])"
)
# particles that may follow a one-syllable noun (시를, 책은, 물과 …): anything else is another word
_PARTICLES = frozenset(
    """을 를 은 는 이 가 의 로 와 과 도 에 만 나 이나 으로 에서 에게
    처럼 보다 까지 부터 입니다 이다""".split()
)

# English lemma | Korean stems (a Korean word starting with the stem counts), frequent in
# instruction data
_LEXICON = """
explain|설명; describe|설명,묘사,서술; description|설명,묘사; list|목록,나열,리스트; summarize|요약
summary|요약; translate|번역; translation|번역; sentence|문장; paragraph|단락,문단; word|단어
phrase|문구,구문,표현; text|텍스트,글,본문; story|이야기,스토리; poem|시; poetry|시; song|노래,곡
lyric|가사; essay|에세이,수필; article|기사,아티클; letter|편지; email|이메일; tweet|트윗
headline|헤드라인,제목; title|제목,타이틀; slogan|슬로건; question|질문,문제
answer|답변,대답,정답,답; example|예시,예를,사례; reason|이유; difference|차이
different|다른,다양한; advantage|장점,이점; disadvantage|단점; benefit|이점,혜택,장점; tip|팁,요령
idea|아이디어; way|방법,방식; method|방법; step|단계; process|프로세스,과정; plan|계획
strategy|전략; tactic|전술; recipe|레시피,요리법; ingredient|재료; food|음식,식품; meal|식사
breakfast|아침; restaurant|레스토랑,식당; health|건강; healthy|건강; exercise|운동; sleep|수면,잠
water|물; energy|에너지; environment|환경; climate|기후; pollution|오염; technology|기술,테크놀로지
computer|컴퓨터; internet|인터넷; data|데이터; program|프로그램; programming|프로그래밍; code|코드
function|함수,기능; algorithm|알고리즘; software|소프트웨어; website|웹사이트; web|웹; app|앱
application|애플리케이션,어플리케이션,응용; phone|전화,휴대폰,폰; company|회사,기업
business|비즈니스,사업,기업; product|제품,상품; customer|고객; market|시장,마켓; marketing|마케팅
price|가격; money|돈; cost|비용; job|직업,일자리; work|일,작업,업무; employee|직원; school|학교
student|학생; teacher|교사,선생; education|교육; book|책,도서; movie|영화; film|영화; music|음악
game|게임,경기; sport|스포츠; team|팀; person|사람; people|사람; child|아이,어린이,자녀; family|가족
friend|친구; animal|동물; dog|개,강아지; cat|고양이; bird|새; fish|물고기,생선; plant|식물
tree|나무; flower|꽃; fruit|과일; apple|사과; car|자동차,차; city|도시; country|국가,나라
world|세계,세상; history|역사; science|과학; scientific|과학; math|수학; mathematics|수학
number|숫자,수; equation|방정식; color|색,색상; red|빨간,빨강; blue|파란,파랑; green|녹색,초록
time|시간; day|날,일; year|년,연도,해; month|월,달; week|주; morning|아침; night|밤; summer|여름
winter|겨울; spring|봄; autumn|가을; fall|가을; weather|날씨; rain|비; sun|태양,해; moon|달; star|별
sea|바다; ocean|바다,해양; river|강; mountain|산; house|집,주택; home|집,가정; room|방
government|정부; law|법; president|대통령; war|전쟁; peace|평화; language|언어; english|영어
french|프랑스; spanish|스페인; chinese|중국; korean|한국; japanese|일본; german|독일; grammar|문법
spelling|철자; verb|동사; noun|명사; adjective|형용사; adverb|부사; synonym|동의어; antonym|반의어
metaphor|은유; simile|직유; character|캐릭터,등장인물,인물,문자; hero|영웅; dragon|용; robot|로봇
artificial|인공; intelligence|지능; machine|기계,머신; learning|학습,러닝; model|모델
network|네트워크,신경망; neural|신경; virus|바이러스; disease|질병; doctor|의사; hospital|병원
medicine|약,의학; stress|스트레스; happiness|행복; happy|행복; love|사랑; fear|두려움,공포
anger|분노; sad|슬픈,슬픔; positive|긍정; negative|부정; sentiment|감정,감성; emotion|감정
opinion|의견; fact|사실; formal|공식,격식; informal|비공식,비격식; short|짧은,짧게; long|긴,길게
simple|간단,단순; complex|복잡; important|중요; main|주요,주된; best|최고; new|새로운
old|오래된,늙은; first|첫,처음; last|마지막; odd|홀수,이상한; type|유형,종류; kind|종류
category|카테고리,범주; classify|분류; classification|분류; categorize|분류; genre|장르
event|이벤트,행사; party|파티; birthday|생일; holiday|휴일,명절; travel|여행; trip|여행
vacation|휴가; hotel|호텔; flight|항공편,비행; airport|공항; train|기차,열차,훈련; bus|버스
bicycle|자전거; road|도로,길; map|지도; population|인구; capital|수도,자본; generate|생성
create|만들,작성,생성; write|작성,쓰세요,쓰기,써; compose|작성,작곡; rewrite|재작성,바꿔,바꾸
edit|편집,수정; identify|식별,찾으,찾아,찾기,찾는,확인,밝히; find|찾으,찾아,찾기,찾는; search|검색
name|이름,명명; suggest|제안; propose|제안; recommend|추천; make|만들; design|디자인,설계
provide|제공; give|제공,주세요,알려; compare|비교; contrast|대조; convert|변환; change|변경,바꾸
construct|구성,작성,만들; analyze|분석; analysis|분석; evaluate|평가; assess|평가; calculate|계산
compute|계산; determine|결정,판단,확인; predict|예측; brainstorm|브레인스토밍; develop|개발
outline|개요,개략; tell|알려; choose|선택,고르; select|선택; rank|순위; sort|정렬; arrange|배열,정렬
combine|결합,합치; paraphrase|바꿔,바꾸,의역; correct|수정,올바른,교정; complete|완성,완료
fill|채우; insert|삽입; replace|대체,바꾸; delete|삭제; remove|제거; add|추가,더하; count|개수
estimate|추정,추산; measure|측정; check|확인,검사; verify|확인,검증; detect|감지,탐지; extract|추출
imagine|상상; reverse|반대,뒤집; opposite|반대; convince|설득; persuasive|설득; argument|주장,논거
conclusion|결론; introduction|소개,서론; dialogue|대화; conversation|대화; interview|인터뷰,면접
speech|연설; presentation|프레젠테이션,발표; report|보고서,보고; research|연구,조사; study|연구,공부
survey|설문; experiment|실험; theory|이론; concept|개념; definition|정의; define|정의
meaning|의미,뜻; mean|의미,평균,뜻; idiom|관용구,숙어; proverb|속담; quote|인용; joke|농담
riddle|수수께끼; puzzle|퍼즐; problem|문제; solution|해결,솔루션; solve|해결,풀어,풀이
issue|문제,이슈; risk|위험; danger|위험; safety|안전; security|보안; privacy|개인정보,프라이버시
social|소셜,사회; media|미디어; online|온라인; digital|디지털; video|동영상,비디오,영상
image|이미지; photo|사진; picture|그림,사진; camera|카메라; table|표,테이블; chart|차트
graph|그래프; database|데이터베이스; query|쿼리; sql|sql; python|파이썬; java|자바
javascript|자바스크립트; html|html; string|문자열; array|배열; variable|변수; loop|루프,반복
class|클래스,수업; object|객체,개체,물체; file|파일; user|사용자; service|서비스; system|시스템
device|장치,기기; battery|배터리; electricity|전기; solar|태양; renewable|재생; oil|석유,기름
gas|가스; carbon|탄소; emission|배출; global|글로벌,세계; warming|온난화; economy|경제
economic|경제; finance|금융,재무; financial|금융,재정; bank|은행; investment|투자; invest|투자
stock|주식; tax|세금; budget|예산; sale|판매; sell|판매; buy|구매; shop|쇼핑,가게,상점
shopping|쇼핑; store|매장,상점,저장; brand|브랜드; advertisement|광고; ad|광고; campaign|캠페인
review|리뷰,검토; rating|평점,등급; feedback|피드백; goal|목표; success|성공; successful|성공
failure|실패; leadership|리더십; leader|리더,지도자; manager|관리자,매니저; meeting|회의
project|프로젝트; task|작업,과제; schedule|일정; deadline|마감; habit|습관; routine|루틴,일과
mind|마음; brain|뇌; body|몸,신체; heart|심장,마음; blood|혈액,피; diet|식단,다이어트
vegetable|채소,야채; meat|고기; coffee|커피; tea|차; wine|와인; chocolate|초콜릿; pizza|피자
bread|빵; cake|케이크; sandwich|샌드위치; salad|샐러드; soup|수프; rice|쌀,밥; egg|달걀,계란
milk|우유; sugar|설탕; salt|소금; kitchen|주방,부엌; cook|요리; cooking|요리; dish|요리,접시
dinner|저녁; lunch|점심; vegan|비건; vegetarian|채식; planet|행성; earth|지구; space|우주,공간
universe|우주; galaxy|은하; physics|물리; chemistry|화학; biology|생물; gravity|중력; atom|원자
cell|세포; dna|dna; gene|유전자; evolution|진화; species|종; ecosystem|생태계; forest|숲
desert|사막; island|섬; lake|호수; beach|해변; park|공원; garden|정원; farm|농장; village|마을
street|거리; building|건물; bridge|다리; museum|박물관; library|도서관; church|교회; art|예술,미술
artist|예술가,화가; painting|그림,회화; paint|그리,그려,칠; draw|그리,그려; dance|춤,댄스
singer|가수; band|밴드; instrument|악기; piano|피아노; guitar|기타; novel|소설; author|작가,저자
writer|작가; poet|시인; personality|성격; king|왕; queen|여왕; prince|왕자; princess|공주; god|신
religion|종교; culture|문화; tradition|전통; festival|축제; olympic|올림픽; football|축구
soccer|축구; basketball|농구; baseball|야구; tennis|테니스; golf|골프; swimming|수영; running|달리기
player|선수,플레이어; coach|코치; match|경기,일치; win|이기,승리; lose|패배; score|점수; rule|규칙
police|경찰; crime|범죄; court|법원; judge|판사; election|선거; vote|투표; democracy|민주주의
citizen|시민; right|권리,오른; freedom|자유; equality|평등; gender|성별; woman|여성,여자
man|남성,남자; girl|소녀; boy|소년; baby|아기; parent|부모; mother|어머니,엄마; father|아버지,아빠
university|대학; college|대학; degree|학위; exam|시험; test|테스트,시험; grade|성적,등급
homework|숙제; lesson|수업,교훈; course|과정,코스; skill|기술,스킬; knowledge|지식; experience|경험
career|경력,커리어; resume|이력서; salary|급여,연봉; hour|시간; minute|분; second|초
percent|퍼센트,%; average|평균; total|총,합계; sum|합; square|정사각형,제곱; circle|원
triangle|삼각형; area|면적,지역; volume|부피,볼륨; length|길이; width|너비; height|높이
weight|무게,체중; distance|거리; speed|속도; temperature|온도,기온; fahrenheit|화씨
kilometer|킬로미터; meter|미터; mile|마일; dollar|달러; euro|유로; prime|소수; even|짝수
fraction|분수; decimal|소수; probability|확률; statistic|통계; formula|공식; value|값,가치
result|결과; output|출력,결과; input|입력; given|주어진; following|다음; below|아래; above|위
statement|진술,명제; true|참,사실; false|거짓
"""


def _build_lexicon() -> tuple[dict[str, str], dict[str, frozenset[str]], int]:
    en_forms: dict[str, str] = {}
    ko_stems: dict[str, set[str]] = {}
    for entry in _LEXICON.replace("\n", ";").split(";"):
        if "|" not in entry:
            continue
        en, ko = entry.strip().split("|")
        lemma = en.strip()
        forms = {
            lemma,
            lemma + "s",
            lemma + "es",
            lemma + "ed",
            lemma + "d",
            lemma + "ing",
            lemma + "er",
            lemma + "ly",
        }
        if lemma.endswith("e"):
            forms |= {lemma[:-1] + "ing", lemma[:-1] + "ion", lemma[:-1] + "ation"}
        if lemma.endswith("y"):
            forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
        if (
            len(lemma) > 2
            and lemma[-1] not in "aeiouwy"
            and lemma[-2] in "aeiou"
            and lemma[-3] not in "aeiou"
        ):
            forms |= {lemma + lemma[-1] + "ing", lemma + lemma[-1] + "ed"}  # plan → planning
        for f in forms:
            en_forms.setdefault(f, lemma)
        en_forms[lemma] = lemma
        for stem in ko.split(","):
            ko_stems.setdefault(lemma, set()).add(stem.strip())
    stems = {s for v in ko_stems.values() for s in v}
    return en_forms, {k: frozenset(v) for k, v in ko_stems.items()}, stems


# English surface form -> lemma; lemma -> its Korean stems; every Korean stem
_EN_FORMS, _EN_TO_KO, _KO_STEMS = _build_lexicon()
_KO_LONGEST = max(len(s) for s in _KO_STEMS)


def concepts(text: str) -> tuple[frozenset[str], int]:
    """Lexicon concepts of a text, as Korean stems, and how many were named.

    Korean: the stems found (a word counts when it starts with a stem); English: every Korean
    stem that the English words found may become, and the number of those English words.
    """
    if _HANGUL.search(text):
        found: set[str] = set()
        stems = _KO_STEMS
        for match in _KO_WORD.finditer(text):
            start = match.start()
            if start and text[start - 1].isdigit():
                continue  # a counter after a number (2000년, 8월): the number cue covers it
            word = match.group()
            for n in range(min(len(word), _KO_LONGEST), 0, -1):
                stem = word[:n]
                # a one-syllable stem must be the whole word, or the word plus a particle
                if stem in stems and (n > 1 or len(word) == 1 or word[1:] in _PARTICLES):
                    found.add(stem)
                    break
        return frozenset(found), len(found)
    forms = _EN_FORMS
    lemmas = {forms[w] for w in _EN_WORD.findall(text.lower()) if w in forms}
    out: set[str] = set()
    for lemma in lemmas:
        out |= _EN_TO_KO[lemma]
    return frozenset(out), len(lemmas)


def spelled_numbers(text: str) -> frozenset[str]:
    """Numbers written as words: "three tips" → 3, 세 가지 → 3, 하나 → 1."""
    if _HANGUL.search(text):
        found = {_KO_NATIVE[m.group(1)] for m in _KO_SPELLED.finditer(text)}
        found |= {_KO_NATIVE[m.group(1)] for m in _KO_ALONE.finditer(text)}
        return frozenset(found)
    return frozenset(_EN_NUMBERS[w] for w in _EN_WORD.findall(text.lower()) if w in _EN_NUMBERS)


@dataclass(slots=True, frozen=True)
class Cues:
    nums: frozenset[str]
    words: frozenset[str]  # Latin-script words, lower case
    urls: frozenset[str]
    lengths: tuple[int, ...]  # per field
    commas: tuple[int, ...]  # per field
    questions: bool
    lines: int
    spelled: frozenset[str] = frozenset()  # numbers written as words
    concepts: frozenset[str] = frozenset()  # lexicon concepts, as Korean stems
    n_concepts: int = 0  # Korean: stems found; English: lexicon words found


def cues(fields: Sequence[str], *, lexicon: bool = True) -> Cues:
    """Content cues of a record (or a turn), from its translated fields in order."""
    text = "\n".join(fields)
    concept_set, n_concepts = concepts(text) if lexicon else (frozenset(), 0)
    return Cues(
        nums=frozenset(n.replace(",", "") for n in _NUM.findall(text)),
        words=frozenset(w.lower() for w in _LATIN.findall(text)),
        urls=frozenset(_URL.findall(text)),
        lengths=tuple(len(f.strip()) for f in fields),
        commas=tuple(f.count(",") for f in fields),
        questions="?" in text,
        lines=text.strip().count("\n"),
        spelled=spelled_numbers(text),
        concepts=concept_set,
        n_concepts=n_concepts,
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def evidence(ko: Cues, en: Cues) -> float:
    """Log-likelihood-like evidence that ``ko`` translates ``en``: > 0 agrees, < 0 disagrees."""
    e = 0.0
    if ko.nums or en.nums:
        # a digit on one side may be spelled out on the other ("3 tips" / 세 가지 팁)
        a = ko.nums | (ko.spelled & en.nums)
        b = en.nums | (en.spelled & ko.nums)
        e += 3.0 * _jaccard(a, b) - 1.5
    elif ko.spelled and en.spelled:
        e += 2.0 * _jaccard(ko.spelled, en.spelled) - 0.5
    if ko.words:
        # Latin words left in the Korean (names, code, acronyms) should appear in the English
        e += 3.0 * len(ko.words & en.words) / len(ko.words) - 1.5
    if ko.urls or en.urls:
        e += 3.0 * _jaccard(ko.urls, en.urls) - 1.5
    if ko.n_concepts or en.n_concepts:
        # the lexicon is small: a missing concept says little, a shared one a lot
        shared = min(len(ko.concepts & en.concepts), ko.n_concepts)
        e += (
            min(1.2 * shared, 4.0)
            - 0.5 * min(ko.n_concepts - shared, 4)
            - 0.15 * min(max(en.n_concepts - shared, 0), 4)
        )
    if len(ko.lengths) == len(en.lengths):
        for kl, el, kc, ec in zip(ko.lengths, en.lengths, ko.commas, en.commas, strict=True):
            if kl == 0 or el == 0:
                e += 0.5 if kl == el else -3.0
                continue
            dev = abs(math.log((kl + 4) / (KO_EN_LENGTH_RATIO * el + 4)))
            e += max(-2.0, 1.0 - 2.5 * dev)
            if kc or ec:
                e += 0.4 if kc == ec else (-0.1 if abs(kc - ec) == 1 else -0.6)
    e += 0.2 if ko.questions == en.questions else -0.6
    if ko.lines or en.lines:
        e += 0.4 if ko.lines == en.lines else -0.3 * min(abs(ko.lines - en.lines), 3)
    return e


def number_tokens(text: str) -> list[str]:
    """The numbers of a text as ``quick_evidence`` compares them."""
    return _NUM.findall(text)


def quick_evidence(ko: str, en: str, en_numbers: str | None = None) -> float:
    """A cheap check of one turn pair already joined by id: length ratio, lines, questions, numbers.

    Catches a turn that belongs elsewhere (merged, cut, shifted) at a few microseconds a pair, so
    that 1.4M id-joined turns cost seconds; the full ``evidence`` is for choosing between rows.
    ``en_numbers``: the English side's ``number_tokens`` space-separated, when found already.
    """
    kl, el = len(ko), len(en)
    if kl == 0 or el == 0:
        return 0.5 if kl == el else -3.0
    e = max(-2.0, 1.0 - 2.5 * abs(math.log((kl + 4) / (KO_EN_LENGTH_RATIO * el + 4))))
    e += 0.2 if ("?" in ko) == ("?" in en) else -0.6
    k_lines, e_lines = ko.count("\n"), en.count("\n")
    if k_lines or e_lines:
        e += 0.4 if k_lines == e_lines else -0.3 * min(abs(k_lines - e_lines), 3)
    # a text with a digit has a number (_NUM starts at any digit): one scan each, not two
    kn = frozenset(_NUM.findall(ko))
    en_ = frozenset(_NUM.findall(en) if en_numbers is None else en_numbers.split())
    if kn or en_:
        if kn == en_:
            e += 1.5
        else:  # a number spelled out on one side ("three" / 세 가지) still agrees
            e += (
                3.0 * _jaccard(kn | (spelled_numbers(ko) & en_), en_ | (spelled_numbers(en) & kn))
                - 1.5
            )
    return e


def confidence_of(ev: float) -> float:
    return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, ev)))), 3)


def score(ko: Cues, en: Cues) -> float:
    """Evidence squashed to a confidence in [0, 1]."""
    return confidence_of(evidence(ko, en))


@dataclass(slots=True)
class Pair:
    en_index: int | None
    confidence: float
    status: str  # "aligned" | "ambiguous" | "unaligned"


_NEG = -1e18


def _masks(cs: Sequence[Cues], attr: str, bits: int) -> np.ndarray:
    """Each row's token set as a bit mask (crc32 of each token), split in 64-bit words for numpy."""
    words = bits // 64
    out = np.zeros((len(cs), words), dtype=np.uint64)
    cache: dict[str, int] = {}
    for i, c in enumerate(cs):
        tokens = getattr(c, attr)
        if not tokens:
            continue
        m = 0
        for t in tokens:
            bit = cache.get(t)
            if bit is None:
                bit = cache[t] = 1 << (zlib.crc32(t.encode("utf-8", "surrogatepass")) % bits)
            m |= bit
        for w in range(words):
            out[i, w] = (m >> (64 * w)) & 0xFFFFFFFFFFFFFFFF
    return out


class _Columns:
    """The cues of one side as numpy columns, so a row's candidates are scored in one go."""

    def __init__(self, cs: Sequence[Cues]) -> None:
        n = len(cs)
        nf = max((len(c.lengths) for c in cs), default=1) or 1
        masks = partial(_masks, cs)
        self.nums, self.spelled, self.urls = (
            masks("nums", 64),
            masks("spelled", 64),
            masks("urls", 64),
        )
        self.words, self.concepts = masks("words", 128), masks("concepts", 128)
        self.n_nums = np.array([len(c.nums) for c in cs], dtype=np.int32)
        self.n_words = np.array([len(c.words) for c in cs], dtype=np.int32)
        self.n_urls = np.array([len(c.urls) for c in cs], dtype=np.int32)
        self.n_concepts = np.array([c.n_concepts for c in cs], dtype=np.int32)
        self.nf = np.array([len(c.lengths) for c in cs], dtype=np.int32)
        self.lengths = np.zeros((n, nf), dtype=np.float64)
        self.commas = np.zeros((n, nf), dtype=np.float64)
        for i, c in enumerate(cs):
            self.lengths[i, : len(c.lengths)] = c.lengths
            self.commas[i, : len(c.commas)] = c.commas
        self.questions = np.array([c.questions for c in cs], dtype=bool)
        self.lines = np.array([c.lines for c in cs], dtype=np.float64)


def _pc(x: np.ndarray) -> np.ndarray:
    """Popcount summed over the 64-bit words of each mask (the last axis)."""
    return np.bitwise_count(x).sum(axis=-1).astype(np.float64)


def _jac(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    union = _pc(a | b)
    return np.where(union > 0, _pc(a & b) / np.maximum(union, 1.0), 1.0)


def _evidence_band(k: _Columns, i0: int, i1: int, e: _Columns, lo: int, width: int) -> np.ndarray:
    """``evidence(ko[i], en[i + d])`` for rows i0..i1-1 and offsets lo..lo+width-1, vectorised.

    Set cues are compared as bit masks (a rare hash collision counts as a match); rows past the
    end of the English side get a score that never wins.
    """
    rows = np.arange(i0, i1)
    idx = rows[:, None] + lo + np.arange(width)[None, :]
    valid = (idx >= 0) & (idx < len(e.nf))
    idx = np.clip(idx, 0, len(e.nf) - 1)
    r = rows[:, None]  # broadcast the Korean row against its candidates

    def kk(a: np.ndarray) -> np.ndarray:
        return a[rows][:, None]

    kn, ks, en_, es = kk(k.nums), kk(k.spelled), e.nums[idx], e.spelled[idx]
    has_num = (k.n_nums[r] > 0) | (e.n_nums[idx] > 0)
    num_ev = 3.0 * _jac(kn | (ks & en_), en_ | (es & kn)) - 1.5
    both_spelled = ks.any(axis=-1) & es.any(axis=-1)
    ev = np.where(has_num, num_ev, np.where(both_spelled, 2.0 * _jac(ks, es) - 0.5, 0.0))
    nw = k.n_words[r]
    ev += np.where(
        nw > 0, 3.0 * np.minimum(_pc(kk(k.words) & e.words[idx]), nw) / np.maximum(nw, 1) - 1.5, 0.0
    )
    has_url = (k.n_urls[r] > 0) | (e.n_urls[idx] > 0)
    if has_url.any():
        ev += np.where(has_url, 3.0 * _jac(kk(k.urls), e.urls[idx]) - 1.5, 0.0)
    kc_n, ec_n = k.n_concepts[r], e.n_concepts[idx]
    shared = np.minimum(_pc(kk(k.concepts) & e.concepts[idx]), kc_n)
    concept_ev = (
        np.minimum(1.2 * shared, 4.0)
        - 0.5 * np.minimum(kc_n - shared, 4)
        - 0.15 * np.minimum(np.maximum(ec_n - shared, 0), 4)
    )
    ev += np.where((kc_n > 0) | (ec_n > 0), concept_ev, 0.0)
    same_nf = e.nf[idx] == k.nf[r]
    length_ev = np.zeros(idx.shape)
    for f in range(min(k.lengths.shape[1], e.lengths.shape[1])):
        kl, el = kk(k.lengths[:, f]), e.lengths[idx, f]
        kc, ec = kk(k.commas[:, f]), e.commas[idx, f]
        dev = np.abs(np.log((kl + 4) / (KO_EN_LENGTH_RATIO * el + 4)))
        term = np.maximum(-2.0, 1.0 - 2.5 * dev)
        diff = np.abs(kc - ec)
        term += np.where(
            (kc > 0) | (ec > 0), np.where(diff == 0, 0.4, np.where(diff == 1, -0.1, -0.6)), 0.0
        )
        in_both = (f < k.nf[r]) & (f < e.nf[idx])
        length_ev += np.where(
            in_both, np.where((kl == 0) | (el == 0), np.where(kl == el, 0.5, -3.0), term), 0.0
        )
    ev += np.where(same_nf, length_ev, 0.0)
    ev += np.where(e.questions[idx] == kk(k.questions), 0.2, -0.6)
    kl_, el_ = kk(k.lines), e.lines[idx]
    ev += np.where(
        (kl_ > 0) | (el_ > 0),
        np.where(kl_ == el_, 0.4, -0.3 * np.minimum(np.abs(kl_ - el_), 3)),
        0.0,
    )
    return np.where(valid, ev, _NEG / 4)


BLOCK = 256  # rows scored per band
BACK = 2  # how far the offset may step back between two rows (an extra Korean row, a swap)
BACK_PENALTY = 3.0  # cost per step back: a Korean row that has no English partner of its own
NEIGHBOUR_SLACK = 0.5  # a swap with a neighbour scoring almost as well makes both pairs unsure
STRONG = 2.0  # own evidence that needs no agreement of the neighbours' offsets
SHARE_MARGIN = 2.0  # two Korean rows on one English row: how much better the kept one must be
TAIL_COST = 1.0  # per Korean row left unpaired at the end of the file
BREAKDOWN_SHARE = 0.02  # more than this share of rows unsure: the import warns


def _shifted(a: np.ndarray, start: int, width: int, past_end: float = _NEG) -> np.ndarray:
    """``a[start : start + width]`` with ``_NEG`` before the start and ``past_end`` after the end
    (offsets are contiguous, so a slice does what fancy indexing would, at less cost per row)."""
    out = np.full(width, _NEG)
    lo, hi = max(0, start), min(len(a), start + width)
    if hi > lo:
        out[lo - start : hi - start] = a[lo:hi]
    if past_end != _NEG and start + width > len(a):
        out[max(0, len(a) - start) :] = past_end
    return out


def _forward_in(prev: np.ndarray, prev_lo: int, lo: int, width: int) -> np.ndarray:
    """Best score arriving at offsets ``lo .. lo + width - 1`` from the previous row's offsets.

    Moves: the same offset (free); a higher one (English rows dropped: ``GAP_PENALTY``); one or two
    lower (a Korean row with no partner of its own — inserted, duplicated — or two rows swapped:
    ``BACK_PENALTY`` a step).
    """
    rel = lo - prev_lo
    below = np.maximum.accumulate(prev)  # below[x] = best previous score at offsets <= prev_lo + x
    best = np.maximum(
        _shifted(prev, rel, width), _shifted(below, rel - 1, width, below[-1]) - GAP_PENALTY
    )
    for k in range(1, BACK + 1):
        best = np.maximum(best, _shifted(prev, rel + k, width) - k * BACK_PENALTY)
    return best


def _backward_in(nxt: np.ndarray, nxt_lo: int, lo: int, width: int) -> np.ndarray:
    """Best score of the rows after this one, given this row's offset (the mirror of
    ``_forward_in``)."""
    rel = lo - nxt_lo
    after = np.maximum.accumulate(nxt[::-1])[
        ::-1
    ]  # after[x] = best next score at offsets >= nxt_lo + x
    # offsets below the next row's beam: every next offset is higher, the best of them
    gap = _shifted(after, rel + 1, width)
    if rel + 1 < 0:
        gap[: min(width, -(rel + 1))] = after[0]
    best = np.maximum(_shifted(nxt, rel, width), gap - GAP_PENALTY)
    for k in range(1, BACK + 1):
        best = np.maximum(best, _shifted(nxt, rel - k, width) - k * BACK_PENALTY)
    return best


def align_by_position(ko: Sequence[Cues], en: Sequence[Cues]) -> list[Pair]:
    """Pair each Korean record with an English one in order, repairing drift, extra rows and swaps.

    Dynamic programming over (row, offset), offsets kept in a beam around the competitive ones; the
    English row of Korean row ``i`` is ``i + offset``. The offset may rise (English rows dropped),
    or fall by one or two (a Korean row with no English partner of its own, a duplicated row, two
    rows swapped), each move at a cost. A backward pass over the same states gives each row's
    margin: best path score minus the best score of a path that pairs the row differently.

    A pair is "aligned" only when its own evidence is good, its margin is clear, the English rows
    next to its partner do not explain it almost as well (and its partner is not explained as well
    by the Korean rows next to it), and either its neighbours sit on the same offset or its own
    evidence is strong. Two Korean rows on one English row: the clearly weaker one is unpaired
    ("unaligned"), both are "ambiguous" when neither is clearly better.
    """
    n, m = len(ko), len(en)
    if n == 0:
        return []
    if m == 0:
        return [Pair(None, 0.0, "unaligned") for _ in range(n)]
    kcol, ecol = _Columns(ko), _Columns(en)
    width = BEAM + BACK
    los: list[int] = []  # per row: lowest offset in the beam
    evs: list[np.ndarray] = []  # per row: evidence of each offset in the beam
    fwd: list[np.ndarray] = []  # per row: best score of rows 0..i ending at this offset
    lo = -BACK
    prev_lo, prev, prev_competitive = 0, np.zeros(1), 0
    band: np.ndarray | None = None
    band_i0 = band_lo = 0
    band_w = 2 * BEAM
    for i in range(n):
        if i + lo >= m:
            break  # no English row left for this one: the rest stays unpaired
        if (
            band is None
            or i - band_i0 >= len(band)
            or lo < band_lo
            or lo + width > band_lo + band_w
        ):
            band_i0, band_lo = i, lo
            band = _evidence_band(kcol, i, min(n, i + BLOCK), ecol, lo, band_w)
        c0 = lo - band_lo
        ev = band[i - band_i0, c0 : c0 + width]
        if i == 0:
            offs = lo + np.arange(width)
            best_in = np.where(
                offs == 0, 0.0, np.where(offs > 0, -GAP_PENALTY, -BACK_PENALTY * -offs)
            )
        else:
            best_in = _forward_in(prev, prev_lo, lo, width)
        cur = best_in + ev
        los.append(lo)
        evs.append(ev)
        fwd.append(cur)
        # drop offsets that can no longer win; keep every competitive one, and room to step back.
        # The lowest offset the previous row found competitive stays too: one row from elsewhere
        # that matches an English row far ahead must not drag the beam away from the path
        floor = cur.max() - 2 * GAP_PENALTY - 4.0
        competitive = lo + int(np.argmax(cur >= floor))
        next_lo = min(competitive, prev_competitive) - BACK if i else competitive - BACK
        prev_lo, prev, prev_competitive = lo, cur, competitive
        lo = next_lo
    # the path may end early: Korean rows past the English side's end (or its last partner) stay
    # unpaired at a small cost each, rather than crowd onto the last English rows by stepping back
    ends = np.array([f.max() for f in fwd]) - TAIL_COST * (n - 1 - np.arange(len(fwd)))
    rows = int(np.argmax(ends)) + 1
    # backward pass: best score of rows i..end given row i's offset; then max-marginals per row
    chosen: list[tuple[int, float, float]] = []  # per row: English index, own evidence, margin
    nxt: np.ndarray | None = None
    nxt_lo = 0
    for i in range(rows - 1, -1, -1):
        row_lo, ev = los[i], evs[i]
        b = ev.copy() if nxt is None else ev + _backward_in(nxt, nxt_lo, row_lo, len(ev))
        total = fwd[i] + b - ev
        k = int(np.argmax(total))
        best = total[k]
        total[k] = _NEG
        margin = float(min(50.0, best - total.max()))
        chosen.append((i + row_lo + k, float(ev[k]), margin))
        nxt, nxt_lo = b, row_lo
    chosen.reverse()
    return _verify(kcol, ecol, chosen, n)


def _swap_gain(
    kcol: _Columns, ecol: _Columns, chosen: list[tuple[int, float, float]]
) -> np.ndarray:
    """Per row: how much better it and a neighbour on the same offset would do with their partners
    swapped.

    A duplicated row ties (the same text against both partners); two swapped rows gain. Scored run
    by run of rows on one offset (few runs: one per defect), three offsets at a time.
    """
    rows = len(chosen)
    out = np.full(rows, _NEG)
    a = 0
    while a < rows:
        d = chosen[a][0] - a
        b = a + 1
        while b < rows and chosen[b][0] - b == d:
            b += 1
        if b - a >= 2:
            band = _evidence_band(
                kcol, a, b, ecol, d - 1, 3
            )  # ev(i, i+d-1), ev(i, i+d), ev(i, i+d+1)
            gain = (band[:-1, 2] + band[1:, 0]) - (
                band[:-1, 1] + band[1:, 1]
            )  # rows x and x+1 swapped
            out[a : b - 1] = np.maximum(out[a : b - 1], gain)
            out[a + 1 : b] = np.maximum(out[a + 1 : b], gain)
        a = b
    return out


def _verify(
    kcol: _Columns, ecol: _Columns, chosen: list[tuple[int, float, float]], n: int
) -> list[Pair]:
    """Statuses from each row's own evidence, its margin and its neighbours (see
    ``align_by_position``)."""
    rows = len(chosen)
    result: list[Pair] = [Pair(None, 0.0, "unaligned")] * n
    by_en: dict[int, list[int]] = {}
    for i, (j, _, _) in enumerate(chosen):
        by_en.setdefault(j, []).append(i)
    swap = _swap_gain(kcol, ecol, chosen) if rows else np.zeros(0)
    for i, (j, e, margin) in enumerate(chosen):
        status = "aligned" if e >= AMBIGUOUS_BELOW and margin >= MARGIN_BELOW else "ambiguous"
        sharing = by_en[j]
        if len(sharing) > 1:
            best = max(chosen[x][1] for x in sharing if x != i)
            if e < best - SHARE_MARGIN:
                result[i] = Pair(
                    None, 0.0, "unaligned"
                )  # a row of its own, with no English partner
                continue
            if e < best + SHARE_MARGIN or e < STRONG:
                status = "ambiguous"  # which of the two rows is the translation is not clear
        if status == "aligned":
            # swapping partners with a neighbour must do clearly worse (a swap gains, a duplicate
            # ties)
            if swap[i] >= -NEIGHBOUR_SLACK:
                status = "ambiguous"
            elif e < STRONG:
                # a weak pair must sit on the same offset as its neighbours
                d = j - i
                for x in (i - 1, i + 1):
                    if 0 <= x < rows and chosen[x][0] - x != d:
                        status = "ambiguous"
        result[i] = Pair(j, min(confidence_of(e), confidence_of(margin)), status)
    # a weak pair next to a row left without a partner is unsure too: the defect may be either
    for i, (j, e, _) in enumerate(chosen):
        if (
            result[i].status == "aligned"
            and e < STRONG
            and any(0 <= x < rows and result[x].en_index is None for x in (i - 1, i + 1))
        ):
            result[i] = Pair(j, result[i].confidence, "ambiguous")
    return result


def breakdown(statuses: Sequence[str]) -> tuple[float, int | None]:
    """Share of rows not "aligned" (ambiguous or unpaired) and the first such row (0-based), if
    any."""
    if not statuses:
        return 0.0, None
    unsure = [i for i, s in enumerate(statuses) if s not in ("aligned", "id")]
    return len(unsure) / len(statuses), (unsure[0] if unsure else None)


def breakdown_warning(
    samples: int,
    unsure: int,
    first_row: Any,
    *,
    align_by: str = "position",
    source_records: int | None = None,
) -> Text | None:
    """The import's warning when the alignment path breaks down (more than ``BREAKDOWN_SHARE``
    unsure), saying what it may mean for this way of pairing (``align_by``): rows out of step
    between two files (with their record counts when they differ), records whose turns disagree
    with the English record of the same id, or Korean that does not translate its own record's
    English. English text that remembers its message id (``i18n.text`` shows it translated)."""
    if samples <= 0 or unsure / samples <= BREAKDOWN_SHARE:
        return None
    counts = {"unsure": unsure, "samples": samples, "share": f"{unsure / samples:.1%}"}
    where = first_row or "?"
    if align_by == "inline":
        return Text(
            N_(
                "{unsure:,} of {samples:,} pairs look mismatched ({share}), the first at"
                " {where}: the Korean may not translate the English of its own record. They are"
                " marked ambiguous; review them on the Review page (More filters → Max alignment"
                " confidence)."
            ),
            where=where,
            **counts,
        )
    if align_by == "id":
        return Text(
            N_(
                "alignment is unsure for {unsure:,} of {samples:,} records ({share}), the first at"
                " {where}: their turns differ in number, roles or content from the English record"
                " with the same id, or no English record has that id ({english:,} English"
                " records were read). Review the ambiguous and unaligned samples (`kocurate"
                " datasets`) or check that both files are the same release."
            ),
            where=where,
            english=source_records or 0,
            **counts,
        )
    if source_records is not None and source_records != samples:
        return Text(
            N_(
                "alignment is unsure for {unsure:,} of {samples:,} rows ({share}), the first at"
                " {where}. The English file has {english:,} records, the Korean {samples:,}: rows"
                " may be missing from one file (is it complete?), or inserted, duplicated or"
                " swapped; review the ambiguous and unaligned samples (`kocurate datasets`) or"
                " check the files."
            ),
            where=where,
            english=source_records,
            **counts,
        )
    return Text(
        N_(
            "alignment is unsure for {unsure:,} of {samples:,} rows ({share}), the first at"
            " {where}. Rows may be inserted, duplicated, swapped or missing in one file; review"
            " the ambiguous and unaligned samples (`kocurate datasets`) or check the files."
        ),
        where=where,
        **counts,
    )


def pair_confidence(ko_fields: Sequence[str], en_fields: Sequence[str]) -> float:
    """Confidence that a Korean record (or turn) translates the given English one."""
    return score(cues(ko_fields), cues(en_fields))
