-- Orthanc auto-routing to livernode: every CT instance Orthanc receives over DICOM is sent on
-- to the modality "livernode" (DicomModalities in orthanc.json). The results livernode sends
-- back (SEG, SR, OT summary images, DOC PDF) are not CT and come from the AE title LIVERNODE,
-- so they are never routed again. Orthanc keeps its copy of everything.
function OnStoredInstance(instanceId, tags, metadata, origin)
  if origin['RequestOrigin'] == 'DicomProtocol'
     and origin['RemoteAet'] ~= 'LIVERNODE'
     and tags['Modality'] == 'CT' then
    SendToModality(instanceId, 'livernode')
  end
end
