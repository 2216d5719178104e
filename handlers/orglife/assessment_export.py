"""The yearly assessment's Excel export (openpyxl write-only): the ranking per 片区 with each part's value, weight
and points, the computed and adjusted scores. Organisations only: no person's name, phone or openid."""

from __future__ import annotations

from typing import IO

from openpyxl import Workbook

from handlers.orglife.assessment import LABELS, PARTS, Scorecard


def write(out: IO[bytes], year: int, ranking: dict[str, list[Scorecard]], weights: dict[str, float]) -> int:
    """Write the workbook to `out`; the number of organisation rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("年度考核")
    parts = [p for p in PARTS if weights[p] > 0]
    head = ["片区", "名次", "组织编码", "组织名称", "组织类型"]
    for p in parts:
        head += [f"{LABELS[p]}", f"{LABELS[p]}权重", f"{LABELS[p]}得分"]
    sheet.append([*head, "计算得分", "调整后得分", "调整理由", "最终得分", "得分说明"])
    written = 0
    for district, cards in ranking.items():
        for rank, card in enumerate(cards, 1):
            line: list[object] = [district or "（未分片区）", rank, card.code, card.name, card.kind]
            by = {p.key: p for p in card.parts}
            for p in parts:
                part = by.get(p)
                value = None if part is None or part.value is None else round(part.value, 4)
                points = None if part is None or part.points is None else round(part.points, 1)
                line += [value, weights[p], points]
            reasons = "；".join(p.reason for p in card.parts)
            line += [card.computed, card.adjusted, card.reason or None, card.score, reasons]
            sheet.append(line)
            written += 1
    notes = book.create_sheet("口径")
    for text in (
        f"{year}年。得分 = Σ 各项比率 × 权重 ÷ 参与计分的权重之和 × 100。",
        "组织没有的项（无诉求、无任务、无应开展会议）不计入，其余项按权重重新分配。",
        "三会一课完成率 =（按时 + 补录 ÷ 2）÷ 应开展；任务完成率 = 验收通过 ÷ 下发。",
        "参学率 = 本组织及下级已认证且全年至少学习一天的党员 ÷ 在册党员。",
        "诉求办理 = 本组织诉求的响应率、解决率、满意率（有数据的）的平均。",
        "调整后得分由党建工作委员会填写并注明理由，计算得分同时保留。",
    ):
        notes.append([text])
    book.save(out)
    return written
