"""Campaigns: group posts under one name, colour and date range."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import CampaignPublic, CampaignsPage
from postwright.services import campaigns as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)},
    dependencies=[Depends(storable_input)],
)


@router.post("", status_code=201, response_model=CampaignPublic, summary="Create a campaign")
async def create_campaign(
    body: service.CampaignCreate, rt: RuntimeDep, principal: PrincipalDep
) -> CampaignPublic:
    return CampaignPublic.of(await service.create_campaign(rt, principal, body))


@router.get("", response_model=CampaignsPage, summary="List campaigns by name")
async def list_campaigns(
    rt: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CampaignsPage:
    found, total = await service.list_campaigns(rt, principal, limit=limit, offset=offset)
    return CampaignsPage(
        data=[CampaignPublic.of(c) for c in found], count=total, limit=limit, offset=offset
    )


@router.get("/{campaign_id}", response_model=CampaignPublic, summary="Get a campaign")
async def get_campaign(
    campaign_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> CampaignPublic:
    return CampaignPublic.of(await service.get_campaign(rt, principal, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignPublic, summary="Change a campaign")
async def update_campaign(
    campaign_id: uuid.UUID, body: service.CampaignUpdate, rt: RuntimeDep, principal: PrincipalDep
) -> CampaignPublic:
    return CampaignPublic.of(await service.update_campaign(rt, principal, campaign_id, body))


@router.delete(
    "/{campaign_id}", status_code=204, summary="Delete a campaign; its posts stay, unassigned"
)
async def delete_campaign(
    campaign_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> Response:
    await service.delete_campaign(rt, principal, campaign_id)
    return Response(status_code=204)
